// The graph panel: Cytoscape.js over the network answers of the API. Expansions are
// merged in (node ids are stable across answers, masked ones included), new nodes
// are placed around the node they came from and nothing drawn moves; pin, hide,
// undo, a legend and PNG export.
import cytoscape from "cytoscape";

import { concentric, place } from "./layout.js";

const OUTCOMES = ["fraud", "default"];

export function colourOf(data, config) {
  if (data.kind === "applicant") {
    for (const outcome of OUTCOMES) if ((data.outcomes || []).includes(outcome)) return config.outcome_colours[outcome];
  }
  return config.kind_colours[data.kind] || config.kind_colours.other;
}

export class GraphView {
  constructor(container, config, { onSelect } = {}) {
    this.config = config;
    this.undoStack = [];
    this.cy = cytoscape({
      container,
      wheelSensitivity: 0.3,
      textureOnViewport: true,
      hideEdgesOnViewport: true,
      style: [
        { selector: "node", style: {
          "background-color": "data(colour)", label: "data(caption)", "font-size": 9, color: "#222",
          "text-valign": "bottom", "text-margin-y": 3, width: 16, height: 16, "min-zoomed-font-size": 7 } },
        { selector: "node[kind = 'applicant']", style: { shape: "ellipse", width: 20, height: 20 } },
        { selector: "node[kind != 'applicant']", style: { shape: "round-rectangle" } },
        { selector: "node[?hub]", style: { "border-width": 3, "border-style": "dashed", "border-color": "#333",
                                           width: 26, height: 26 } },
        { selector: "node.expanded", style: { "border-width": 2, "border-color": "#222" } },
        { selector: "node.pinned", style: { "border-width": 4, "border-color": "#000", "border-style": "double" } },
        { selector: "node:selected", style: { "overlay-color": "#fdd835", "overlay-opacity": 0.35, "overlay-padding": 4 } },
        { selector: "edge", style: { width: 1.2, "line-color": "#b0b0b0", "curve-style": "haystack" } },
        { selector: "edge[roles *= 'contact']", style: { "line-style": "dashed" } },
        { selector: ".on-path", style: { "line-color": "#fdd835", width: 4, "border-color": "#f9a825", "border-width": 4 } },
      ],
      layout: { name: "preset" },
    });
    this.cy.on("tap", "node", (event) => onSelect && onSelect(event.target.data()));
  }

  // Nodes by id, for tests and the page.
  has(id) {
    return this.cy.getElementById(id).nonempty();
  }

  size() {
    return this.cy.nodes().length;
  }

  clear() {
    this.cy.elements().remove();
    this.undoStack = [];
  }

  caption(data) {
    const value = data.label === null || data.label === undefined ? "identity (withheld)" : data.label;
    return data.hub ? `${value} (hub: ${data.degree} holders)` : value;
  }

  // Merge Cytoscape elements into the drawing; `anchor` is the node they expand.
  merge(elements, anchor) {
    const cy = this.cy;
    const fresh = elements.nodes.filter((n) => cy.getElementById(n.data.id).empty());
    const first = cy.nodes().length === 0;
    let positions;
    if (first) {
      positions = concentric(anchor, elements.nodes.map((n) => n.data.id),
                             elements.edges.map((e) => [e.data.source, e.data.target]));
    } else {
      const from = cy.getElementById(anchor);
      const centre = from.nonempty() ? from.position() : { x: 0, y: 0 };
      const spots = place(centre, fresh.length, cy.nodes().map((n) => n.position()));
      positions = new Map(fresh.map((n, i) => [n.data.id, spots[i]]));
    }
    let added;
    cy.batch(() => {
      const nodes = cy.add(fresh.map((n) => ({ group: "nodes", position: positions.get(n.data.id) || { x: 0, y: 0 },
        data: { ...n.data, colour: colourOf(n.data, this.config), caption: this.caption(n.data) } })));
      const edges = cy.add(elements.edges.filter((e) => cy.getElementById(e.data.id).empty()
        && !cy.getElementById(`${e.data.target}|${e.data.source}`).nonempty())
        .map((e) => ({ group: "edges", data: e.data })));
      added = nodes.union(edges);
    });
    cy.getElementById(anchor).addClass("expanded");
    this.undoStack.push({ undo: () => added.remove() });
    if (first) cy.fit(undefined, 30);
    return added.nodes().length;
  }

  pin(id) {
    const node = this.cy.getElementById(id);
    if (node.empty()) return;
    const pinned = node.hasClass("pinned");
    node.toggleClass("pinned", !pinned);
    if (pinned) node.unlock(); else node.lock();
    this.undoStack.push({ undo: () => { node.toggleClass("pinned", pinned); if (pinned) node.lock(); else node.unlock(); } });
  }

  hide(id) {
    const node = this.cy.getElementById(id);
    if (node.empty() || node.locked()) return false;
    const removed = node.union(node.connectedEdges()).remove();
    this.undoStack.push({ undo: () => removed.restore() });
    return true;
  }

  undo() {
    const last = this.undoStack.pop();
    if (last) last.undo();
    return Boolean(last);
  }

  // Draw again with a force layout; pinned nodes stay where they are.
  relayout() {
    this.cy.layout({ name: "cose", animate: false, randomize: false, fit: true, padding: 30, numIter: 400 }).run();
  }

  // Mark a path of applicants: each of them, and what links each to the next (the
  // identifiers both are drawn next to, with their edges to the two).
  highlight(ids) {
    const cy = this.cy;
    cy.elements().removeClass("on-path");
    const steps = ids.map((id) => cy.getElementById(id));
    steps.forEach((node) => node.addClass("on-path"));
    for (let i = 1; i < steps.length; i += 1) {
      const [a, b] = [steps[i - 1], steps[i]];
      const links = a.neighborhood("node").intersection(b.neighborhood("node"));
      links.addClass("on-path");
      links.edgesWith(a.union(b)).addClass("on-path");
      a.edgesWith(b).addClass("on-path");
    }
  }

  png() {
    return this.cy.png({ full: true, bg: "#ffffff", scale: 2 });
  }

  legend() {
    return [
      ...Object.entries(this.config.kind_colours).map(([kind, colour]) => [kind, colour]),
      ...Object.entries(this.config.outcome_colours).map(([outcome, colour]) => [`applicant: ${outcome}`, colour]),
      ["hub (dashed border): counted, not expanded", "#ffffff"],
    ];
  }
}
