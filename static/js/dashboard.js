// The dashboard's charts, drawn in the browser by Chart.js (static/vendor/chartjs) from GET /api/dashboard/charts/.
// Runs under the page's CSP: a same-origin file, canvas drawing, no inline styles; labels are set as data, never HTML.
(function () {
  "use strict";
  const section = document.getElementById("charts");
  if (!section || typeof Chart === "undefined") return;

  const BLUE = "#1a5fb4";
  const GREEN = "#26a269";
  const RED = "#b3261e";
  const PALETTE = [BLUE, GREEN, "#c64600", "#613583", "#1c71d8", "#865e3c"];
  Chart.defaults.font.size = 14;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.animation = false;

  function status(text) {
    document.getElementById("charts-status").textContent = text;
  }

  function showEmpty(name, empty) {
    const note = document.getElementById("chart-" + name + "-empty");
    if (note) note.hidden = !empty;
  }

  function funnel(data) {
    new Chart(document.getElementById("chart-funnel"), {
      type: "bar",
      data: {
        labels: data.map((row) => row.status.replace("_", " ")),
        datasets: [{ label: "candidates", data: data.map((row) => row.count), backgroundColor: BLUE }],
      },
      options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, title: { display: true, text: "candidates" } } } },
    });
  }

  function throughput(data) {
    new Chart(document.getElementById("chart-throughput"), {
      type: "bar",
      data: {
        labels: data.map((row) => row.day),
        datasets: [{ label: "answers", data: data.map((row) => row.answers), backgroundColor: GREEN }],
      },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, title: { display: true, text: "answers" } } } },
    });
  }

  function learning(curves) {
    const drawn = curves.filter((curve) => curve.points.length);
    showEmpty("learning", !drawn.length);
    new Chart(document.getElementById("chart-learning"), {
      type: "line",
      data: {
        datasets: drawn.map((curve, i) => ({
          label: curve.target,
          data: curve.points.map((p) => ({ x: p.labels, y: p.roc_auc })),
          borderColor: PALETTE[i % PALETTE.length],
          backgroundColor: PALETTE[i % PALETTE.length],
        })),
      },
      options: {
        scales: {
          x: { type: "linear", title: { display: true, text: "labelled candidates" } },
          y: { min: 0.4, max: 1, title: { display: true, text: "held-out ROC AUC" } },
        },
      },
    });
  }

  function batches(chart) {
    const items = chart.items;
    showEmpty("batches", !items.length);
    const labels = items.map((row) => row.label);
    new Chart(document.getElementById("chart-batches"), {
      type: "bar",
      data: {
        labels: labels,
        datasets: [
          {
            type: "scatter",
            label: "precision",
            data: items.map((row, i) => ({ x: labels[i], y: row.precision })),
            backgroundColor: BLUE,
            pointRadius: 5,
            order: 0,
          },
          {
            // the 95% Wilson interval as a floating bar from its low to its high end
            type: "bar",
            label: "95% interval",
            data: items.map((row) => [row.low, row.high]),
            backgroundColor: "rgba(26, 95, 180, 0.25)",
            barPercentage: 0.3,
            order: 1,
          },
          {
            type: "line",
            label: "bar (" + chart.min_precision + ")",
            data: items.map(() => chart.min_precision),
            borderColor: RED,
            borderDash: [6, 4],
            pointRadius: 0,
            order: 2,
          },
        ],
      },
      options: { scales: { x: { type: "category" }, y: { min: 0, max: 1, title: { display: true, text: "estimated precision" } } } },
    });
  }

  async function load() {
    status("Loading the charts…");
    try {
      const response = await fetch(section.dataset.api, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const data = await response.json();
      funnel(data.funnel);
      throughput(data.throughput);
      learning(data.learning_curves);
      batches(data.batches);
      status("");
      section.dataset.drawn = "true";
    } catch (error) {
      status("The charts could not be loaded (" + error.message + "); reload the page to try again.");
    }
  }

  load();
})();
