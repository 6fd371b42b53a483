// Polls the ingest run API for runs that are still queued or running and updates their rows in place.
// Every value is written with textContent: file names and messages are untrusted text.
(function () {
  "use strict";
  const ACTIVE = new Set(["queued", "running"]);
  async function refresh(row) {
    const response = await fetch(`/api/ingest-runs/${row.dataset.runId}/`, { credentials: "same-origin" });
    if (!response.ok) return;
    const run = await response.json();
    row.dataset.status = run.status;
    row.querySelector(".status").textContent = run.status + (run.status === "running" ? ` (${run.phase})` : "");
    row.querySelector("progress").value = run.progress;
    row.querySelector(".lines").textContent = run.lines_total;
    row.querySelector(".created").textContent = run.candidates_created;
    row.querySelector(".merged").textContent = run.candidates_merged;
    row.querySelector(".message").textContent = run.message;
  }
  function tick() {
    const rows = [...document.querySelectorAll("tr[data-run-id]")].filter((row) => ACTIVE.has(row.dataset.status));
    Promise.all(rows.map(refresh)).finally(() => { if (rows.length) setTimeout(tick, 1000); });
  }
  tick();
})();
