import assert from "node:assert/strict";
import { type AnswerFormat, checkAnswer, formatAnswer } from "./qa.ts";

const ROOMY: AnswerFormat = { maxChars: 1200, markdown: true };
const TIGHT: AnswerFormat = { maxChars: 320, markdown: false };
import type { Passage } from "../retrieval/retrieve.ts";

const passage = (text: string, creatorId = "c1"): Passage => ({
  id: "d:0",
  creatorId,
  knowledgeBaseId: "k",
  documentId: "d",
  documentTitle: "Sleep",
  heading: "Naps",
  text,
  position: { ordinal: 0, start: 0, end: text.length, page: null },
  score: 1,
  relevance: 1,
  signals: {},
});

Deno.test("checkAnswer() flags another creator's passage and answers longer than the channel allows", () => {
  const p = passage("Keep naps short: 20 minutes at most.", "c2");
  const v = checkAnswer({
    answer: "Keep naps short: 20 minutes at most. [1]",
    passages: [p],
    creatorId: "c1",
    passageCreators: [p.creatorId],
    refused: false,
    format: ROOMY,
  });
  assert.equal(v.tenantOk, false);
  assert.equal(v.ok, false);
  assert.match(v.problems.join("\n"), /another creator/);
  const long = checkAnswer({
    answer: `${"Keep naps short. ".repeat(30)}[1]`,
    passages: [passage("Keep naps short.")],
    creatorId: "c1",
    passageCreators: ["c1"],
    refused: false,
    format: TIGHT,
  });
  assert.equal(long.lengthOk, false);
  assert.match(long.problems.join("\n"), /the channel allows 320/);
});

Deno.test("formatAnswer() drops Markdown where it does not render and trims at a sentence", () => {
  const text = "## Naps\n**Keep naps short.** Use `20 minutes` at most. " +
    "More detail here. ".repeat(40);
  const out = formatAnswer(text, TIGHT);
  assert.ok(out.length <= 320);
  assert.ok(out.startsWith("Naps\nKeep naps short. Use 20 minutes at most."));
  assert.ok(out.endsWith("…"));
  assert.equal(formatAnswer("**bold**", ROOMY), "**bold**");
});
