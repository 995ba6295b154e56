import assert from "node:assert/strict";
import test from "node:test";

import { concentric, place } from "../src/layout.js";

const far = (a, b, d) => (a.x - b.x) ** 2 + (a.y - b.y) ** 2 >= d * d * 0.81;

test("new nodes keep their distance from what is drawn and from each other", () => {
  const occupied = [{ x: 0, y: 0 }, { x: 90, y: 0 }, { x: 0, y: 90 }];
  const placed = place({ x: 0, y: 0 }, 25, occupied, 60);
  assert.equal(placed.length, 25);
  for (const p of placed) for (const q of occupied) assert.ok(far(p, q, 60));
  placed.forEach((p, i) => placed.slice(i + 1).forEach((q) => assert.ok(far(p, q, 60))));
});

test("placing is deterministic and leaves the occupied points where they were", () => {
  const occupied = [{ x: 5, y: 5 }];
  assert.deepEqual(place({ x: 0, y: 0 }, 7, occupied), place({ x: 0, y: 0 }, 7, occupied));
  assert.deepEqual(occupied, [{ x: 5, y: 5 }]);
});

test("concentric puts the centre in the middle and each distance on its own circle", () => {
  const positions = concentric("a", ["a", "p", "b", "c"], [["a", "p"], ["p", "b"], ["p", "c"]]);
  assert.deepEqual(positions.get("a"), { x: 0, y: 0 });
  const r = (n) => Math.hypot(positions.get(n).x, positions.get(n).y);
  assert.ok(r("p") > 0);
  assert.ok(Math.abs(r("b") - r("c")) < 1e-9);
  assert.ok(r("b") > r("p"));
});
