import assert from "node:assert/strict";
import { jsonEqual } from "./json_equal.ts";

Deno.test("jsonEqual() compares JSON-like values deeply", () => {
  assert.ok(jsonEqual({ a: [1, { b: "x" }], c: null }, { c: null, a: [1, { b: "x" }] }));
  assert.ok(!jsonEqual({ a: [1, 2] }, { a: [1, 2, 3] }));
  assert.ok(!jsonEqual({ a: 1 }, { a: 1, b: undefined }));
  assert.ok(!jsonEqual([], {}));
  assert.ok(!jsonEqual({ a: "1" }, { a: 1 }));
  assert.ok(!jsonEqual(null, {}));
});
