// Where new nodes go when a node is expanded: on rings around the expanded node, in
// free places only, so that what is already drawn never moves (the layout stays
// stable as the graph grows).

const TAU = 2 * Math.PI;

// Positions for `count` new nodes around `anchor` ({x, y}), at least `spacing` from
// every point of `occupied` and from each other. Deterministic: the same inputs give
// the same places.
export function place(anchor, count, occupied, spacing = 60) {
  const taken = occupied.map((p) => ({ x: p.x, y: p.y }));
  const free = (p) => taken.every((q) => (p.x - q.x) ** 2 + (p.y - q.y) ** 2 >= spacing * spacing * 0.81);
  const out = [];
  for (let ring = 1; out.length < count && ring < 200; ring += 1) {
    const radius = ring * spacing * 1.5;
    const slots = Math.max(6, Math.floor((TAU * radius) / spacing));
    const turn = (ring * 0.618) % 1; // a golden-ratio offset so rings do not line up
    for (let i = 0; i < slots && out.length < count; i += 1) {
      const angle = TAU * (i / slots + turn / slots);
      const p = { x: anchor.x + radius * Math.cos(angle), y: anchor.y + radius * Math.sin(angle) };
      if (free(p)) {
        out.push(p);
        taken.push(p);
      }
    }
  }
  return out;
}

// First drawing of a network: the centre in the middle, then each ring of distance
// (identifiers, applicants sharing them, ...) on its own circle, in a fixed order.
export function concentric(center, nodes, edges, spacing = 60) {
  const neighbours = new Map(nodes.map((n) => [n, []]));
  for (const [a, b] of edges) {
    neighbours.get(a)?.push(b);
    neighbours.get(b)?.push(a);
  }
  const depth = new Map([[center, 0]]);
  const queue = [center];
  while (queue.length) {
    const node = queue.shift();
    for (const next of neighbours.get(node) || []) {
      if (!depth.has(next)) {
        depth.set(next, depth.get(node) + 1);
        queue.push(next);
      }
    }
  }
  const levels = [];
  for (const node of nodes) {
    const d = depth.has(node) ? depth.get(node) : levels.length || 1;
    (levels[d] ||= []).push(node);
  }
  const positions = new Map();
  let radius = 0;
  levels.forEach((level, d) => {
    if (!level) return;
    level.sort();
    radius = d === 0 ? 0 : Math.max(radius + spacing * 1.5, (level.length * spacing) / TAU);
    level.forEach((node, i) => {
      const angle = (TAU * i) / level.length;
      positions.set(node, { x: radius * Math.cos(angle), y: radius * Math.sin(angle) });
    });
  });
  return positions;
}
