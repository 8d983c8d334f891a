import assert from "node:assert/strict";
import { readHealth } from "./health.ts";

Deno.test("readHealth() - doses, medication, diagnosis, treatment, symptoms and injuries, each asked", () => {
  const cases: [string, string][] = [
    ["How many milligrams of melatonin should I take?", "dose"],
    ["Can I take two ibuprofen before my long run?", "dose"],
    ["Is it safe to take antidepressants and work out hard?", "medication"],
    ["Should I take vitamin D supplements in winter?", "medication"],
    ["My knee clicks and swells after squats, is it a torn meniscus?", "diagnosis"],
    ["Could my constant tiredness be low iron?", "diagnosis"],
    ["Should I put ice or heat on my sprained ankle?", "treatment"],
    ["My wrist hurts when I do push-ups, how do I fix it?", "treatment"],
    ["I think I pulled my hamstring last night", "injury"],
    ["My knee clicks when I squat deep", "symptom"],
    ["My fingers go numb during planks, is that normal?", "symptom"],
    ["I get chest pain when I run up hills, should I push through it?", "symptom"],
  ];
  for (const [question, concern] of cases) {
    const h = readHealth(question);
    assert.equal(h?.concern, concern, question);
    assert.equal(h?.asked, true, question);
    assert.ok(h!.cues.length > 0, question);
  }
});

Deno.test("readHealth() - not a health question: ordinary coaching, or a word in another sense", () => {
  for (
    const q of [
      "What's the best way to iron a linen shirt?",
      "I've begun pumping iron. How much of the muscle-building stuff should I eat daily?",
      "Is it bad that I scroll on my phone right before lights out?",
      "I keep jolting up at 3am and can't drift off again, any advice?",
      "How many runs per week does the plan have?",
      // Found on the test questions: "do I have to" is not "do I have (a condition)".
      "I skipped Wednesday's run. Do I have to start the week over?",
      "I don't click with my coach, can I get someone else?",
    ]
  ) assert.equal(readHealth(q), undefined, q);
});

Deno.test("readHealth() - a health word in a question about the account is not asked as health", () => {
  const pause = readHealth("I broke my leg, can I put my membership on hold for a while?");
  assert.equal(pause?.concern, "injury");
  assert.equal(pause?.asked, false);
  const group = readHealth("Am I allowed to recommend painkillers to someone in the group chat?");
  assert.equal(group?.asked, false);
  assert.equal(readHealth("Does the program require supplements?")?.asked, false);
});

Deno.test("readHealth() - a follow-up is read with the question it follows", () => {
  assert.equal(readHealth("How much per day?"), undefined);
  assert.equal(
    readHealth("How much per day?", "Should I take vitamin D in winter?")?.concern,
    "dose",
  );
});
