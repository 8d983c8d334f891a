import assert from "node:assert/strict";
import { LINK_CODE_LENGTH, linkCodeIn, randomCode } from "./codes.ts";

Deno.test("link codes - every code handed out is read back as a code, typed any way", () => {
  // About one draw in eleven has no digit; 3,000 codes would all but surely meet one.
  for (let i = 0; i < 3000; i++) {
    const code = randomCode();
    assert.equal(code.length, LINK_CODE_LENGTH);
    assert.equal(linkCodeIn(code), code, code);
    const typed = `${code.slice(0, 4)}-${code.slice(4)}`.toLowerCase();
    assert.equal(linkCodeIn(` ${typed} `), code);
  }
  // Ordinary words of the same length are never taken for a code.
  assert.equal(linkCodeIn("GOODMORN"), undefined);
  assert.equal(linkCodeIn("12345678"), undefined);
});
