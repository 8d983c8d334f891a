import assert from "node:assert/strict";
import type { FlowStep } from "../../contracts/program.ts";
import { choicePayload, readAnswer } from "./answers.ts";

type Question = Extract<FlowStep, { type: "question" }>;
const q = (over: Partial<Question>): Question => ({
  id: "q",
  type: "question",
  text: "?",
  variable: "v",
  ...over,
});

Deno.test("readAnswer() - a choice by label, number, payload or a unique mention; nothing else", () => {
  const choice = q({ choices: ["Mornings", "Evenings"] });
  assert.equal(readAnswer(choice, "evenings"), "Evenings");
  assert.equal(readAnswer(choice, "1"), "Mornings");
  assert.equal(readAnswer(choice, choicePayload("q", 1)), "Evenings");
  assert.equal(readAnswer(choice, choicePayload("other", 1)), undefined);
  assert.equal(readAnswer(choice, "I prefer mornings really"), "Mornings");
  assert.equal(readAnswer(choice, "3"), undefined);
  assert.equal(readAnswer(choice, "pizza"), undefined);
});

Deno.test("readAnswer() - numbers within bounds, scales as integers, times of day, free text", () => {
  const num = q({ expect: "number", min: 0, max: 24 });
  assert.equal(readAnswer(num, "about 7,5 hours"), 7.5);
  assert.equal(readAnswer(num, "30"), undefined);
  assert.equal(readAnswer(num, "lots"), undefined);
  const scale = q({ expect: "scale" });
  assert.equal(readAnswer(scale, "4"), 4);
  assert.equal(readAnswer(scale, "4.5"), undefined);
  assert.equal(readAnswer(scale, "9"), undefined);
  const time = q({ expect: "time" });
  assert.equal(readAnswer(time, "7pm"), "19:00");
  assert.equal(readAnswer(time, "7:30 am"), "07:30");
  assert.equal(readAnswer(time, "22h15"), "22:15");
  assert.equal(readAnswer(time, "12am"), "00:00");
  assert.equal(readAnswer(time, "25:00"), undefined);
  assert.equal(readAnswer(time, "soon"), undefined);
  assert.equal(readAnswer(q({}), "  to sleep better "), "to sleep better");
  assert.equal(readAnswer(q({}), "   "), undefined);
});
