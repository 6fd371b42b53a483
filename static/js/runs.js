// Polls the run API for rows that are still queued or running and updates them in place.
// Rows carry data-run-url (their API URL); cells with data-field="name" show that field of the run.
// Every value is written with textContent: file names, messages and tails are untrusted text.
(function () {
  "use strict";
  const ACTIVE = new Set(["queued", "running"]);
  async function refresh(row) {
    const response = await fetch(row.dataset.runUrl, { credentials: "same-origin" });
    if (!response.ok) return;
    const run = await response.json();
    row.dataset.status = run.status;
    row.querySelector("progress").value = run.progress;
    for (const cell of row.querySelectorAll("[data-field]")) {
      const value = run[cell.dataset.field];
      cell.textContent = cell.dataset.field === "status" && run.phase && run.status === "running"
        ? `${value} (${run.phase})` : String(value ?? "");
    }
  }
  function tick() {
    const rows = [...document.querySelectorAll("tr[data-run-url]")].filter((row) => ACTIVE.has(row.dataset.status));
    Promise.all(rows.map(refresh)).finally(() => { if (rows.length) setTimeout(tick, 1000); });
  }
  tick();
})();
