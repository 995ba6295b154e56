// Cytoscape.js against Sigma.js (with graphology) on the same random graph: the time
// to the first painted frame, and the mean frame time of a pan, in this browser.
import cytoscape from "cytoscape";
import Graph from "graphology";
import Sigma from "sigma";

function graph(nodes, edges) {
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const points = Array.from({ length: nodes }, (_, i) => ({ id: `n${i}`, x: random() * 1000, y: random() * 1000 }));
  const links = [];
  const seen = new Set();
  while (links.length < edges) {
    const a = Math.floor(random() * nodes);
    const b = Math.floor(random() * nodes);
    if (a !== b && !seen.has(`${a}|${b}`) && !seen.has(`${b}|${a}`)) {
      seen.add(`${a}|${b}`);
      links.push([`n${a}`, `n${b}`]);
    }
  }
  return { points, links };
}

const frames = (count) => new Promise((done) => {
  let left = count;
  const step = () => (--left > 0 ? requestAnimationFrame(step) : done());
  requestAnimationFrame(step);
});

function box() {
  document.body.replaceChildren();
  const element = document.createElement("div");
  element.style.width = "1200px";
  element.style.height = "800px";
  document.body.append(element);
  return element;
}

async function pan(move) {
  const started = performance.now();
  for (let i = 0; i < 30; i += 1) {
    move(i);
    await frames(1);
  }
  return (performance.now() - started) / 30;
}

window.drawCytoscape = async (nodes, edges) => {
  const { points, links } = graph(nodes, edges);
  const container = box();
  const started = performance.now();
  const cy = cytoscape({ container, layout: { name: "preset" }, style: [
    { selector: "node", style: { width: 16, height: 16, label: "data(id)", "font-size": 9 } },
    { selector: "edge", style: { width: 1, "curve-style": "haystack" } }],
    elements: [...points.map((p) => ({ data: { id: p.id }, position: { x: p.x, y: p.y } })),
               ...links.map(([a, b], i) => ({ data: { id: `e${i}`, source: a, target: b } }))] });
  await frames(2);
  const first = performance.now() - started;
  const frame = await pan((i) => cy.panBy({ x: 5, y: i % 2 ? 3 : -3 }));
  cy.destroy();
  return { first, frame };
};

window.drawSigma = async (nodes, edges) => {
  const { points, links } = graph(nodes, edges);
  const container = box();
  const started = performance.now();
  const g = new Graph();
  for (const p of points) g.addNode(p.id, { x: p.x, y: p.y, size: 4, label: p.id, color: "#9e9e9e" });
  links.forEach(([a, b], i) => g.addEdgeWithKey(`e${i}`, a, b, { size: 1, color: "#b0b0b0" }));
  const renderer = new Sigma(g, container, { renderLabels: true });
  await frames(2);
  const first = performance.now() - started;
  const camera = renderer.getCamera();
  const frame = await pan((i) => camera.setState({ x: 0.5 + 0.002 * i, y: 0.5 }));
  renderer.kill();
  return { first, frame };
};
