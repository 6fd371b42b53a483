// The annotator: one question at a time, keyboard first. Answers are posted in order through a serial chain,
// each with its own idempotency key (a retried POST is stored once). After a Yes the following question of the
// same candidate is shown at once (the server sent it ahead as then_if_yes); every response then brings the
// authoritative next step. All text from the server is written with textContent: LLM text is untrusted.
// Leaving the page gives its leases back at once (a beacon, which outlives the page), so that their candidates go
// to other annotators instead of waiting for the leases to expire.
(function () {
  "use strict";
  const root = document.getElementById("annotator");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
  let step = null;          // what is on screen: {assignment, question, candidate, then_if_yes}
  let prefetch = null;      // the next candidate's first question, leased ahead by the server
  let shownAt = performance.now();
  let pending = 0;          // answers posted but not yet acknowledged
  let busy = false;         // an undo or a skip is queued behind the answers: keys wait for its result
  let failures = 0;         // answers that failed: an undo or skip queued before a failure is not sent
  let chain = Promise.resolve();

  function setStatus(text) { $("status").textContent = text; }

  function render(next, progress, message, ahead) {
    step = next;
    if (ahead !== undefined) prefetch = ahead;
    if (progress) {
      $("answered-today").textContent = String(progress.answered_today);
      $("open-in-queue").textContent = progress.open_in_queue >= 10000 ? "10000+" : String(progress.open_in_queue);
    }
    if (!step) {
      $("task").hidden = true;
      $("empty").hidden = false;
      $("empty-message").textContent = message || "The queue is empty: there is nothing to annotate right now.";
      return;
    }
    const c = step.candidate;
    $("empty").hidden = true;
    $("task").hidden = false;
    $("context").textContent = c.context;
    $("relation").textContent = c.relation.label;
    $("category").textContent = c.categories.length ? c.categories.join(" / ") : "—";
    $("tail").textContent = c.tail;
    $("question-number").textContent = String(step.question.number);
    $("question-total").textContent = String(step.question.total);
    $("question-label").textContent = step.question.label;
    $("question-text").textContent = step.question.text;
    $("question-help").textContent = step.question.help;
    $("question-text").focus({ preventScroll: true });
    shownAt = performance.now();
  }

  async function call(url, options, attempts = 3) {
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await fetch(url, {
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
          ...options,
        });
        const body = await response.json().catch(() => ({}));
        if (!response.ok) throw Object.assign(new Error(body.detail || response.statusText), { status: response.status });
        return body;
      } catch (error) {
        if (error.status || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, 300 * attempt));
      }
    }
  }

  function settle(body) {
    pending -= 1;
    if (pending === 0) render(body.step, body.progress, body.message, body.prefetch);
    else if (body.progress) $("answered-today").textContent = String(body.progress.answered_today);
  }

  function fail(error) {
    pending = 0;
    failures += 1;
    setStatus(error.message || "Something went wrong; reloading the current question.");
    chain = Promise.resolve();
    load();
  }

  function answer(value) {
    if (!step || busy) return;
    const payload = {
      assignment: step.assignment,
      question: step.question.slug,
      value,
      idempotency_key: crypto.randomUUID(),
      seconds: Math.round(performance.now() - shownAt) / 1000,
    };
    pending += 1;
    setStatus("");
    if (value && step.then_if_yes) {
      // Show the same candidate's next question now; the response will confirm or correct it.
      render({ ...step, question: step.then_if_yes, then_if_yes: null }, null);
    } else if (prefetch) {
      // This pass ends here: show the next candidate, leased ahead, without waiting.
      const ahead = prefetch;
      prefetch = null;
      render(ahead, null);
    } else {
      $("task").setAttribute("aria-busy", "true");
      step = null;
    }
    chain = chain
      .then(() => call(root.dataset.answers, { method: "POST", body: JSON.stringify(payload) }))
      .then((body) => { $("task").removeAttribute("aria-busy"); settle(body); })
      .catch(fail);
  }

  // Undo and skip wait in the same chain as the answers: pressed while an answer is still on its way, they act
  // once it has landed (the undo then takes that very answer back) instead of being dropped. Until their result
  // is on screen no other key acts, since what is shown may be about to change. An answer that fails reloads the
  // page's state; what was queued behind it no longer means what the annotator saw, so it is dropped.
  function queueBehindAnswers(request, done, refused) {
    const failuresWhenPressed = failures;
    const idle = () => { busy = false; $("task").removeAttribute("aria-busy"); };
    busy = true;
    $("task").setAttribute("aria-busy", "true");
    chain = chain
      .then(() => (failures === failuresWhenPressed ? request().then(done) : null))
      .then(idle)
      .catch((error) => { idle(); refused(error); });
  }

  function skip() {
    if (!step || busy) return;
    const url = `/api/annotation/assignments/${step.assignment}/skip`;
    setStatus("");
    queueBehindAnswers(
      () => call(url, { method: "POST" }),
      (body) => render(body.step, body.progress, body.message, body.prefetch),
      (error) => { setStatus(error.message); load(); },  // the lease may be gone: show what the server has now
    );
  }

  function undo() {
    if (busy) return;
    setStatus("Taking your last answer back…");
    queueBehindAnswers(
      () => call(root.dataset.undo, { method: "POST" }),
      (body) => {
        setStatus("Your last answer was taken back.");
        render(body.step, body.progress, body.message, body.prefetch);
      },
      (error) => setStatus(error.message),  // e.g. nothing left to take back: the screen stays as it is
    );
  }

  function load() {
    call(root.dataset.api, { method: "GET" }).then((body) => render(body.step, body.progress, body.message, body.prefetch)).catch(
      (error) => setStatus(error.message),
    );
  }

  function toggleKeys() {
    const dialog = $("keys");
    if (dialog.open) dialog.close(); else dialog.showModal();
  }

  // A hidden tab keeps its leases for a while (a glance at another tab loses nothing), then gives them back and
  // loads fresh work when it is shown again. Each lease is named with the release token its step carried: a
  // beacon can send no CSRF header, and the token is what authorises the release.
  const HIDDEN_RELEASE_MS = 30000;
  let hiddenTimer = null;
  let released = false;

  function releaseLeases() {
    if (released || !navigator.sendBeacon) return;
    const held = new Map();
    for (const lease of [step, prefetch]) {
      if (lease && lease.release_token) held.set(lease.assignment, { assignment: lease.assignment, token: lease.release_token });
    }
    if (!held.size) return;
    released = navigator.sendBeacon(root.dataset.release, JSON.stringify({ leases: [...held.values()] }));
  }

  function reloadIfReleased() {
    if (!released) return;
    released = false;
    step = null;
    prefetch = null;
    load();
  }

  window.addEventListener("pagehide", releaseLeases);
  window.addEventListener("pageshow", (event) => { if (event.persisted) reloadIfReleased(); });
  document.addEventListener("visibilitychange", () => {
    clearTimeout(hiddenTimer);
    if (document.visibilityState === "hidden") hiddenTimer = setTimeout(releaseLeases, HIDDEN_RELEASE_MS);
    else reloadIfReleased();
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if ($("keys").open && event.key !== "?") return;
    const key = event.key;
    if (key === "y" || key === "Y" || key === "ArrowRight") { event.preventDefault(); answer(true); }
    else if (key === "n" || key === "N" || key === "ArrowLeft") { event.preventDefault(); answer(false); }
    else if (key === "s" || key === "S") { event.preventDefault(); skip(); }
    else if (key === "u" || key === "U" || key === "Backspace") { event.preventDefault(); undo(); }
    else if (key === "?") { event.preventDefault(); toggleKeys(); }
  });
  $("answer-yes").addEventListener("click", () => answer(true));
  $("answer-no").addEventListener("click", () => answer(false));
  $("skip").addEventListener("click", skip);
  $("undo").addEventListener("click", undo);
  $("show-keys").addEventListener("click", toggleKeys);
  load();
})();
