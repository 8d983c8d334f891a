import assert from "node:assert/strict";
import { headingLines } from "./outline.ts";
import { chunkText } from "./chunk.ts";

const FAQ = `SHOP FAQ
Last updated: March 2026

What does a membership cost?
The monthly plan costs 29 euros a month. The yearly plan costs 290 euros.

Can I export my data?
Go to Settings > Privacy > Export my data. You will receive a download link by email.
`;

const PDF_PAGE = `Your first week
Fill in the intake questionnaire in the app before your first check-in, so your coach
can adapt the plan to your schedule and equipment. Then book the first check-in.
Setting goals
Choose one outcome goal, such as running 5 km without stopping, and two process goals
you control every week.`;

Deno.test("headingLines() - an FAQ's questions and a PDF's title lines, not wrapped sentence lines", () => {
  assert.deepEqual(headingLines(FAQ).map((h) => [h.title, h.level]), [
    ["SHOP FAQ", 1],
    ["What does a membership cost?", 2],
    ["Can I export my data?", 2],
  ]);
  assert.deepEqual(headingLines(PDF_PAGE).map((h) => [h.title, h.level]), [
    ["Your first week", 2],
    ["Setting goals", 2],
  ]);
  // Markdown headings win: nothing else is guessed.
  assert.deepEqual(
    headingLines("# Sleep\nShort line\nA longer paragraph follows here.").map((h) => h.title),
    ["Sleep"],
  );
});

Deno.test("chunkText() - each FAQ answer is its own chunk under its question, offsets intact", async () => {
  const chunks = await chunkText({ text: FAQ });
  const exported = chunks.find((c) => c.heading === "SHOP FAQ > Can I export my data?")!;
  assert.match(exported.text, /^Go to Settings > Privacy/);
  assert.doesNotMatch(exported.text, /29 euros/);
  assert.equal(FAQ.slice(exported.start, exported.end), exported.text);
});
