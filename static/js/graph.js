// The graph explorer: search a node, draw it with its best neighbours (Cytoscape.js, styled through its JS API),
// expand a neighbour on click or from the list beside the canvas (buttons: focus + Enter), filter by relation and
// category, and show an edge's provenance. Neighbourhoods come from the API one capped page at a time, never the
// whole graph. Labels are LLM text: everything is written with textContent (Cytoscape draws text on a canvas).
(function () {
  "use strict";
  const root = document.getElementById("explorer");
  if (!root) return;
  const PLACEHOLDER = "999999999";
  const PAGE = 25;
  const MAX_NODES = 400;  // the canvas is cleared (keeping the current node) before it grows past this
  const url = (template, id) => template.replace(PLACEHOLDER, String(Math.trunc(Number(id))));
  const $ = (id) => document.getElementById(id);
  const KIND_COLOURS = { query: "#2f6fde", product: "#b54708", concept: "#067647", head: "#6941c6", category: "#5b6475" };
  const state = { current: null, cursor: null, loaded: new Set() };

  const cy = window.cytoscape({
    container: $("graph-canvas"),
    minZoom: 0.2,
    maxZoom: 3,
    wheelSensitivity: 0.3,
    style: [
      {
        selector: "node",
        style: {
          label: "data(short)",
          "font-size": 10,
          "text-valign": "bottom",
          "text-margin-y": 3,
          "text-wrap": "ellipsis",
          "text-max-width": 120,
          width: 16,
          height: 16,
          "background-color": (node) => KIND_COLOURS[node.data("kind")] || "#5b6475",
          color: "#1d2330",
        },
      },
      { selector: "node.current", style: { width: 26, height: 26, "border-width": 3, "border-color": "#1d2330" } },
      { selector: "node.expanded", style: { "border-width": 2, "border-color": "#98a2b3" } },
      {
        selector: "edge",
        style: {
          width: (edge) => 1 + 3 * Math.max(0, edge.data("score") ?? 0),
          "line-color": "#98a2b3",
          "target-arrow-color": "#98a2b3",
          "target-arrow-shape": "triangle",
          "curve-style": "bezier",
          label: "data(relation)",
          "font-size": 8,
          color: "#5b6475",
          "text-rotation": "autorotate",
          "text-background-color": "#f6f7f9",
          "text-background-opacity": 1,
        },
      },
      { selector: "edge:selected", style: { "line-color": "#2f6fde", "target-arrow-color": "#2f6fde" } },
    ],
  });

  function short(text) {
    return text.length > 40 ? `${text.slice(0, 39)}…` : text;
  }

  function el(tag, text, className) {
    const element = document.createElement(tag);
    if (text !== undefined) element.textContent = text;
    if (className) element.className = className;
    return element;
  }

  // A link to one of our pages: a clone of a server-rendered same-origin link whose path alone changes, so no data
  // can make it point elsewhere (or be a javascript: URL).
  function link(text, path) {
    const anchor = document.importNode($("graph-link").content.firstElementChild, false);
    anchor.pathname = path;
    anchor.textContent = text;
    return anchor;
  }

  function formatScore(score) {
    return score === null || score === undefined ? "no score" : score.toFixed(3);
  }

  async function getJson(address) {
    const response = await fetch(address, { credentials: "same-origin", headers: { Accept: "application/json" } });
    let data = {};
    try { data = await response.json(); } catch (error) { data = {}; }
    if (!response.ok) throw new Error(data.detail || `The server answered ${response.status}.`);
    return data;
  }

  function filters() {
    const params = new URLSearchParams({ limit: String(PAGE) });
    if ($("graph-relation").value) params.set("relation", $("graph-relation").value);
    if ($("graph-category").value) params.set("category", $("graph-category").value);
    return params;
  }

  // --- search ---------------------------------------------------------------------------------------------
  async function search(event) {
    event.preventDefault();
    const text = $("graph-search-text").value.trim();
    const list = $("graph-search-results");
    list.replaceChildren();
    if (!text) { $("graph-search-status").textContent = "Type part of a query, product title or concept."; return; }
    const params = new URLSearchParams({ search: text, limit: "15" });
    if ($("graph-search-kind").value) params.set("kind", $("graph-search-kind").value);
    $("graph-search-status").textContent = "Searching…";
    try {
      const data = await getJson(`${root.dataset.searchUrl}?${params}`);
      $("graph-search-status").textContent = data.results.length
        ? `${data.results.length} node(s) found: pick one.`
        : "Nothing found: try fewer letters, or another kind.";
      for (const node of data.results) {
        const item = el("li");
        const button = el("button", node.label, "link");
        button.type = "button";
        button.dataset.node = String(node.id);
        button.addEventListener("click", () => { list.replaceChildren(); open(node.id, { fresh: true }); });
        item.append(button, " ", el("small", node.kind));
        list.append(item);
      }
      const first = list.querySelector("button");
      if (first) first.focus();
    } catch (error) {
      $("graph-search-status").textContent = error.message;
    }
  }

  // --- neighbourhoods -------------------------------------------------------------------------------------
  function addElements(data, centre) {
    const origin = cy.getElementById(String(centre));
    const at = origin.nonempty() ? origin.position() : { x: 0, y: 0 };
    const fresh = [];
    data.nodes.forEach((node, index) => {
      if (cy.getElementById(String(node.id)).nonempty()) return;
      const angle = (2 * Math.PI * index) / Math.max(1, data.nodes.length);
      fresh.push({
        group: "nodes",
        data: { id: String(node.id), label: node.label, short: short(node.label), kind: node.kind },
        position: { x: at.x + 120 * Math.cos(angle), y: at.y + 120 * Math.sin(angle) },
      });
    });
    for (const edge of data.edges) {
      if (cy.getElementById(`e${edge.id}`).nonempty()) continue;
      fresh.push({
        group: "edges",
        data: {
          id: `e${edge.id}`, edge: edge.id, source: String(edge.source), target: String(edge.target),
          relation: edge.relation, score: edge.score,
        },
      });
    }
    cy.add(fresh);
  }

  function layout() {
    cy.layout({ name: "cose", animate: false, randomize: false, fit: true, padding: 30, nodeRepulsion: () => 8000 }).run();
    if (cy.zoom() > 1.2) { cy.zoom(1.2); cy.center(); }  // a few nodes stay at a readable size
  }

  function sideCount(side) {
    const total = side.total_exact ? String(side.total) : `more than ${side.total}`;
    return `(${side.shown} shown of ${total})`;
  }

  function neighbourItem(edge, data, outgoing) {
    const otherId = outgoing ? edge.target : edge.source;
    const other = data.nodes.find((node) => node.id === otherId);
    const item = el("li");
    item.dataset.edge = String(edge.id);
    item.append(el("span", outgoing ? `${edge.relation} →` : `← ${edge.relation}`, "relation"), " ");
    const button = el("button", other ? other.label : `#${otherId}`, "link neighbour");
    button.type = "button";
    button.dataset.node = String(otherId);
    button.addEventListener("click", () => open(otherId, {}));
    item.append(button, " ");
    const meta = el("small", `${formatScore(edge.score)}${edge.category ? ` · ${edge.category}` : ""} · `);
    const provenance = link("provenance", url(root.dataset.edgePageUrl, edge.id));
    provenance.setAttribute("aria-label", `Provenance of ${edge.relation} ${other ? other.label : ""}`.trim());
    meta.append(provenance);
    item.append(meta);
    return item;
  }

  function showNeighbours(data, append) {
    const node = data.node;
    $("graph-current-title").textContent = node.label;
    const meta = $("graph-current-meta");
    meta.replaceChildren(`${node.kind} · `);
    meta.append(link("table view", url(root.dataset.nodePageUrl, node.id)));
    $("graph-neighbours").hidden = false;
    for (const side of ["out", "in"]) {
      const list = $(`graph-${side}`);
      if (!append) list.replaceChildren();
      for (const edge of data.edges) {
        const outgoing = edge.source === node.id && side === "out";
        const incoming = edge.target === node.id && side === "in" && edge.source !== node.id;
        if (outgoing || incoming) list.append(neighbourItem(edge, data, outgoing));
      }
      if (!list.children.length) {
        const none = data[side].total === 0 && ($("graph-relation").value || $("graph-category").value)
          ? "None with these filters." : "None.";
        list.append(el("li", none, "help"));
      }
      const shown = list.querySelectorAll("li[data-edge]").length;
      $(`graph-${side}-count`).textContent = sideCount({ ...data[side], shown });
    }
    $("graph-more").hidden = !data.next_cursor;
  }

  async function open(nodeId, { fresh = false, more = false } = {}) {
    const params = filters();
    if (more && state.cursor) params.set("cursor", state.cursor);
    $("graph-search-status").textContent = "Loading…";
    let data;
    try {
      data = await getJson(`${url(root.dataset.neighbourhoodUrl, nodeId)}?${params}`);
    } catch (error) {
      $("graph-search-status").textContent = error.message;
      return;
    }
    $("graph-search-status").textContent = "";
    if (fresh || cy.nodes().length + data.nodes.length > MAX_NODES) cy.elements().remove();
    state.current = data.node.id;
    state.cursor = data.next_cursor;
    state.loaded.add(data.node.id);
    addElements(data, data.node.id);
    cy.nodes().removeClass("current");
    cy.getElementById(String(data.node.id)).addClass("current expanded");
    layout();
    showNeighbours(data, more);
    const address = new URL(window.location.href);
    address.searchParams.set("node", String(data.node.id));
    window.history.replaceState(null, "", address);
  }

  // --- an edge's provenance -------------------------------------------------------------------------------
  function fact(list, term, value) {
    list.append(el("dt", term));
    const dd = el("dd");
    if (value instanceof Node) dd.append(value); else dd.textContent = value;
    list.append(dd);
  }

  async function showEdge(edgeId) {
    const panel = $("graph-edge");
    let edge;
    try {
      edge = await getJson(url(root.dataset.edgeUrl, edgeId));
    } catch (error) {
      $("graph-search-status").textContent = error.message;
      return;
    }
    $("graph-edge-title").textContent = `#${edge.id}`;
    const facts = $("graph-edge-facts");
    facts.replaceChildren();
    fact(facts, "Statement", edge.candidate ? edge.candidate.statement : "—");
    fact(facts, "Behaviour", edge.candidate ? edge.candidate.context : "—");
    fact(facts, "Relation", edge.relation);
    fact(facts, "Tail", edge.tail.label);
    fact(facts, "Category", edge.category || "—");
    fact(facts, "Score", formatScore(edge.score));
    if (edge.batch) {
      const batch = el("span");
      batch.append(link(`#${edge.batch.id}`, url(root.dataset.batchPageUrl, edge.batch.id)), ` (${edge.batch.status})`);
      fact(facts, "Batch", batch);
    } else {
      fact(facts, "Batch", "— (a single decision)");
    }
    const audit = edge.audit || {};
    fact(facts, "Audit", audit.audited
      ? `precision ${Number(audit.precision).toFixed(3)} (${Number(audit.wilson_low).toFixed(3)}–${Number(audit.wilson_high).toFixed(3)}), ${audit.audited} audited`
      : "—");
    const versions = Object.entries(edge.versions || {}).map(([target, v]) => `${target}: v${v.version}`).join("; ");
    fact(facts, "Model versions", versions || "—");
    fact(facts, "Curator", edge.curator || "—");
    fact(facts, "Accepted", new Date(edge.accepted_at).toLocaleString());
    $("graph-edge-link").pathname = url(root.dataset.edgePageUrl, edge.id);
    panel.hidden = false;
  }

  // --- wiring ---------------------------------------------------------------------------------------------
  $("graph-search").addEventListener("submit", search);
  $("graph-more").addEventListener("click", () => { if (state.current !== null) open(state.current, { more: true }); });
  for (const id of ["graph-relation", "graph-category"]) {
    $(id).addEventListener("change", () => { if (state.current !== null) open(state.current, { fresh: true }); });
  }
  $("graph-reset").addEventListener("click", () => {
    cy.elements().remove();
    state.current = null;
    $("graph-neighbours").hidden = true;
    $("graph-edge").hidden = true;
    $("graph-current-title").textContent = "No node open";
  });
  cy.on("tap", "node", (event) => open(Number(event.target.id()), {}));
  cy.on("tap", "edge", (event) => showEdge(event.target.data("edge")));
  for (const link of document.querySelectorAll(".graph-top a[data-node]")) {
    link.addEventListener("click", (event) => { event.preventDefault(); open(Number(link.dataset.node), { fresh: true }); });
  }
  window.plausiGraph = cy;  // for the browser test (the canvas has no DOM to query)
  const start = Number.parseInt(root.dataset.startNode, 10);
  if (Number.isInteger(start) && start > 0) open(start, { fresh: true });
})();
