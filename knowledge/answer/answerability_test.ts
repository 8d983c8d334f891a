import assert from "node:assert/strict";
import { seedCoach, testKnowledge } from "../../tests/knowledge_env.ts";
import { runTurn } from "./brain.ts";
import type { Knowledge } from "../services.ts";

const FAQ = `# Membership FAQ
## Is there a family plan?
Yes. Up to four people living in the same household can join the family plan, and each of them
gets 20 percent off their membership.

## What does a membership cost?
The monthly plan costs 29 euros a month. The yearly plan costs 290 euros, paid once.`;

const RUNNING = `# Running
## Shoes
Check that your running shoes are not worn out, which happens after about 600 to 800 km.

## Easy days
On easy days, a 20 to 30 minute walk keeps the blood flowing without adding fatigue.`;

const turn = (k: Knowledge, creatorId: string, message: string) =>
  runTurn(k, {
    creatorId,
    message,
    history: [],
    summary: "",
    format: { maxChars: 1200, markdown: true },
  });

Deno.test("runTurn() - an offer of another kind than the one described is not answered from it", async () => {
  await using env = await testKnowledge();
  const k = env.knowledge;
  const coach = await seedCoach(k, { FAQ, Running: RUNNING });
  const student = await turn(k, coach.creatorId, "Do you have a student discount?");
  assert.equal(student.refused, true, student.answer);
  assert.match(
    student.answer,
    /^I couldn't find (?:that|an answer to that) in your coach's material/,
  );
  assert.match(student.answer, /"Is there a family plan\?"/); // names what it does cover
  assert.deepEqual(student.citations, []);
  const family = await turn(k, coach.creatorId, "Is there a family plan with a discount?");
  assert.equal(family.refused, false, family.answer);
  assert.match(family.answer, /20 percent off/);
});

Deno.test("runTurn() - a brand question is not answered by general advice, nor a count by another number", async () => {
  await using env = await testKnowledge();
  const k = env.knowledge;
  const coach = await seedCoach(k, { FAQ, Running: RUNNING });
  const brand = await turn(k, coach.creatorId, "Which brand of running shoes should I buy?");
  assert.equal(brand.refused, true, brand.answer);
  assert.match(brand.answer, /doesn't recommend specific products or brands/);
  const steps = await turn(k, coach.creatorId, "How many steps a day should I walk?");
  assert.equal(steps.refused, true, steps.answer);
  const shoes = await turn(k, coach.creatorId, "How often should I replace my running shoes?");
  assert.equal(shoes.refused, false, shoes.answer);
  assert.match(shoes.answer, /600 to 800 km/);
});
