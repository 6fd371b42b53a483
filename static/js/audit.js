// The batch audit table: keyboard first (J/K or arrows move, Y/N answer), answers posted to the audit API, the
// estimate and the strata's breakdown updated from its response; the decision sends the strata ticked to leave
// out. Every text is written with textContent: candidate and category text is untrusted.
(function () {
  "use strict";
  const section = document.getElementById("batch");
  if (!section) return;
  const rows = [...document.querySelectorAll("#audit tbody tr")];
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  let current = 0;

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch (error) { data = {}; }
    return { ok: response.ok, data };
  }

  function focus(index) {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach((row, i) => row.classList.toggle("current", i === current));
    rows[current].focus();
  }

  function showEstimate(estimate) {
    document.getElementById("precision").textContent =
      estimate.precision === null ? "—" : estimate.precision.toFixed(3);
    document.getElementById("wilson").textContent =
      `${estimate.wilson_low.toFixed(3)}–${estimate.wilson_high.toFixed(3)}`;
    document.getElementById("audited").textContent = String(estimate.audited);
    (estimate.strata || []).forEach(showStratum);
  }

  function showStratum(stratum) {
    const row = document.querySelector(`#strata tr[data-stratum="${Number(stratum.id)}"]`);
    if (!row) return;
    const cell = (name) => row.querySelector(`[data-field="${name}"]`);
    cell("audited").textContent = `${stratum.audited} / ${stratum.audit_size}`;
    cell("audit_yes").textContent = String(stratum.audit_yes);
    cell("audit_no").textContent = String(stratum.audit_no);
    cell("precision").textContent = stratum.precision === null ? "—"
      : `${stratum.precision.toFixed(3)} (${stratum.wilson_low.toFixed(3)}–${stratum.wilson_high.toFixed(3)})`;
    cell("flag").textContent = stratum.excluded ? "excluded" : (stratum.flagged ? "below the bar" : "ok");
    row.classList.toggle("flagged", stratum.flagged);
    row.classList.toggle("excluded", stratum.excluded);
    const box = document.getElementById(`exclude-${Number(stratum.id)}`);
    if (box) {
      const label = document.querySelector(`label[for="exclude-${Number(stratum.id)}"]`);
      if (label) label.textContent = stratum.label + (stratum.flagged ? " (below the bar)" : "");
    }
  }

  // Answers move the focus at once (a curator types ahead) and are sent one after the other, in order.
  let queue = Promise.resolve();
  function answer(value) {
    const row = rows[current];
    if (!row || section.dataset.status !== "auditing") return;
    const previous = row.dataset.value;
    row.dataset.value = value ? "yes" : "no";
    row.querySelector(".answer").textContent = value ? "correct" : "wrong";
    focus(current + 1);
    queue = queue.then(async () => {
      const result = await post(section.dataset.auditUrl, { candidate: Number(row.dataset.candidate), value });
      if (!result.ok) {
        row.dataset.value = previous || "";
        row.querySelector(".answer").textContent = previous ? (previous === "yes" ? "correct" : "wrong") : "—";
        document.getElementById("decision-message").textContent = result.data.detail || "The answer was not saved.";
        return;
      }
      showEstimate(result.data);
    });
  }

  async function decide(approve) {
    await queue;  // every answer typed so far is stored first
    const reason = document.getElementById("override").value;
    const excluded = [...document.querySelectorAll("#exclusions input[name=exclude]:checked")]
      .map((box) => Number(box.value));
    const body = { approve, override_reason: reason };
    if (approve && excluded.length) body.exclude_strata = excluded;
    const result = await post(section.dataset.decisionUrl, body);
    const message = document.getElementById("decision-message");
    if (!result.ok) {
      message.textContent = result.data.detail || "The decision was not saved.";
      return;
    }
    section.dataset.status = result.data.status;
    document.getElementById("batch-status").textContent = result.data.status;
    message.textContent = approve && excluded.length
      ? `Batch ${result.data.status} without ${excluded.length} stratum(s); their candidates went back to the pool.`
      : `Batch ${result.data.status}.`;
    if (result.data.estimate) showEstimate(result.data.estimate);
    document.querySelectorAll("#exclusions input, #approve, #reject").forEach((control) => { control.disabled = true; });
  }

  document.addEventListener("keydown", (event) => {
    if (event.target.tagName === "TEXTAREA" || event.target.tagName === "INPUT") return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.toLowerCase();
    if (key === "j" || key === "arrowdown") { focus(current + 1); event.preventDefault(); }
    else if (key === "k" || key === "arrowup") { focus(current - 1); event.preventDefault(); }
    else if (key === "y") { answer(true); event.preventDefault(); }
    else if (key === "n") { answer(false); event.preventDefault(); }
  });
  rows.forEach((row, index) => row.addEventListener("click", () => focus(index)));
  const approve = document.getElementById("approve");
  if (approve) approve.addEventListener("click", () => decide(true));
  const reject = document.getElementById("reject");
  if (reject) reject.addEventListener("click", () => decide(false));
  focus(Math.max(0, rows.findIndex((row) => !row.dataset.value)));
})();
