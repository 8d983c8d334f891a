import assert from "node:assert/strict";
import { quantile, summarize } from "./stats.ts";

Deno.test("quantile() uses the nearest rank", () => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(quantile(sorted, 0.5), 50);
  assert.equal(quantile(sorted, 0.99), 99);
  assert.equal(quantile(sorted, 1), 100);
  assert.equal(quantile([7], 0.99), 7);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

Deno.test("summarize() sorts numerically and leaves its input alone", () => {
  const values = [10, 2, 33, 4];
  const s = summarize(values);
  assert.deepEqual(values, [10, 2, 33, 4]);
  assert.equal(s.n, 4);
  assert.equal(s.p50, 4);
  assert.equal(s.max, 33);
  assert.equal(s.mean, 12.25);
});
