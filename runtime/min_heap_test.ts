import assert from "node:assert/strict";
import { MinHeap } from "./min_heap.ts";

Deno.test("MinHeap pops in key order", () => {
  const heap = new MinHeap<number>((n) => n);
  const values = Array.from({ length: 1000 }, () => Math.floor(Math.random() * 10_000));
  for (const v of values) heap.push(v);
  const out: number[] = [];
  while (heap.size) out.push(heap.pop()!);
  assert.deepEqual(out, [...values].sort((a, b) => a - b));
  assert.equal(heap.pop(), undefined);
});
