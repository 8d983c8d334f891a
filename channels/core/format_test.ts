import assert from "node:assert/strict";
import fc from "fast-check";
import { escapeTelegramHtml, splitMessage } from "./format.ts";

Deno.test("splitMessage() keeps a short text whole and drops empty input", () => {
  assert.deepEqual(splitMessage("  Hello there.  ", 4096), ["Hello there."]);
  assert.deepEqual(splitMessage("   ", 10), []);
});

Deno.test("splitMessage() cuts at a paragraph break before a sentence end", () => {
  const a = "First paragraph. It has two sentences.";
  const b = "Second paragraph is here.";
  assert.deepEqual(splitMessage(`${a}\n\n${b}`, a.length + 5), [a, b]);
});

Deno.test("splitMessage() cuts at a sentence end when no paragraph break fits", () => {
  const text = "One short sentence. Another sentence that is longer than the rest.";
  assert.deepEqual(splitMessage(text, 30), [
    "One short sentence.",
    "Another sentence that is",
    "longer than the rest.",
  ]);
});

Deno.test("splitMessage() cuts a word with no space hard at the limit", () => {
  assert.deepEqual(splitMessage("abcdefghij", 4), ["abcd", "efgh", "ij"]);
});

Deno.test("splitMessage() never exceeds the limit and keeps every character, and every word that fits", () => {
  fc.assert(
    fc.property(
      fc.array(fc.stringMatching(/^[a-z]{1,12}[.!?]?$/), { maxLength: 200 }),
      fc.array(fc.constantFrom(" ", "\n\n", "\n"), { maxLength: 200 }),
      fc.integer({ min: 12, max: 300 }),
      (words, gaps, limit) => {
        const text = words.map((w, i) => w + (gaps[i] ?? " ")).join("");
        const parts = splitMessage(text, limit);
        for (const p of parts) assert.ok(p.length <= limit, `${p.length} > ${limit}`);
        const squeeze = (t: string) => t.replace(/\s+/g, "");
        assert.equal(squeeze(parts.join("")), squeeze(text));
        if (words.every((w) => w.length <= limit)) {
          assert.deepEqual(parts.join(" ").split(/\s+/).filter(Boolean), words);
        }
      },
    ),
  );
});

Deno.test("escapeTelegramHtml() escapes the three characters Telegram's HTML mode reads", () => {
  assert.equal(escapeTelegramHtml(`5 < 6 & "x" > 'y'`), `5 &lt; 6 &amp; "x" &gt; 'y'`);
});
