import assert from "node:assert/strict";
import { ExtractiveResponder } from "./responder.ts";
import type { Passage } from "../retrieval/retrieve.ts";

function passage(text: string, heading = "Stress > Three good things"): Passage {
  return {
    id: "c1",
    creatorId: "creator",
    knowledgeBaseId: "kb",
    documentId: "doc",
    documentTitle: "Stress",
    heading,
    text,
    position: { ordinal: 0, start: 0, end: text.length, page: null },
    score: 1,
    relevance: 0.4,
    signals: {},
  };
}

async function answer(r: ExtractiveResponder, question: string, p: Passage, tentative = false) {
  let out = "";
  for await (
    const piece of r.answer({
      question,
      passages: [p],
      history: [],
      summary: "",
      maxChars: 1200,
      tentative,
    })
  ) out += piece;
  return out;
}

Deno.test("ExtractiveResponder quotes the best sentence with its neighbour and cites it", async () => {
  const r = new ExtractiveResponder();
  const p = passage(
    "Every evening, write down three things that went well that day. Done for a week, this " +
      "simple practice improves mood.",
  );
  // The best sentence closes the passage: the one before it comes along.
  const closing = await answer(r, "a simple practice for my mood", p);
  assert.equal(
    closing,
    'From "Stress (Three good things)": Every evening, write down three things that went well ' +
      "that day. Done for a week, this simple practice improves mood. [1]",
  );
  const tentative = await answer(r, "a simple practice for my mood", p, true);
  assert.match(tentative, /^The closest I found is in "Stress \(Three good things\)": Every/);
});
