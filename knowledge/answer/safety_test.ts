import assert from "node:assert/strict";
import { withTenant } from "../../db/tenant.ts";
import { seedCoach, testKnowledge } from "../../tests/knowledge_env.ts";
import { runTurn } from "./brain.ts";
import type { Knowledge } from "../services.ts";
import { OllamaChatModel } from "../models/ollama.ts";
import { ChatModelResponder } from "./responder.ts";
import { ChatModelJudge } from "./llm_judge.ts";
import { startFakeOllama } from "../../tests/fakes/ollama.ts";

const STRENGTH = `# Strength training
## Sets and rest
Do three sets of 8 to 12 repetitions and rest 60 to 90 seconds between sets.

## The pain rule
Soreness in the belly of a muscle is fine. Sharp or stabbing pain, pain inside a joint, or pain
that makes you change the way you move is not: stop that exercise for the day. If the pain is still
there after three days, or there is swelling, see a physiotherapist or a doctor.`;

const RUNNING = `# Running
## Shin pain
Aching along the front of the lower leg, called shin splints, usually means the training load rose
too quickly. Repeat the previous week instead of moving on and run on softer surfaces.

## Naps after long runs
Keep naps short: 20 minutes at most, and before 3 pm.`;

const turn = (k: Knowledge, creatorId: string, message: string) =>
  runTurn(k, {
    creatorId,
    message,
    history: [],
    summary: "",
    format: { maxChars: 1200, markdown: true },
  });

Deno.test("runTurn() - a treatment question gets the safe reply with the knowledge's pain rule quoted and cited", async () => {
  await using env = await testKnowledge();
  const k = env.knowledge;
  const coach = await seedCoach(k, { Strength: STRENGTH, Running: RUNNING });
  const r = await turn(k, coach.creatorId, "My wrist hurts when I do push-ups, how do I fix it?");
  assert.equal(r.refused, true);
  assert.equal(r.safety?.concern, "treatment");
  assert.equal(r.safety?.action, "declined");
  assert.match(r.answer, /^I can't advise on treating an injury or a symptom/);
  assert.match(r.answer, /doctor or a physiotherapist/);
  assert.match(r.answer, /pass your question to your coach/);
  assert.match(
    r.answer,
    /Your coach's material says \(Strength, The pain rule\): ".*physiotherapist/,
  );
  assert.equal(r.citations.length, 1);
  assert.equal(r.citations[0]!.chunkId, r.safety?.ruleChunkId);
  assert.equal(r.citations[0]!.documentId, coach.documentIds.Strength);
  assert.equal(r.qa.ok, true);
});

Deno.test("runTurn() - a dose question is never answered from a passage, even one sharing its words", async () => {
  await using env = await testKnowledge();
  const k = env.knowledge;
  const coach = await seedCoach(k, { Running: RUNNING });
  // "Naps … 20 minutes … before 3 pm" shares sleep words with melatonin; no safety rule exists.
  const r = await turn(
    k,
    coach.creatorId,
    "How many milligrams of melatonin should I take to nap?",
  );
  assert.equal(r.refused, true);
  assert.deepEqual(r.safety, { concern: "dose", action: "declined" });
  assert.doesNotMatch(r.answer, /20 minutes/);
  assert.deepEqual(r.citations, []);
  assert.match(r.answer, /^I can't advise on doses of medicines or supplements/);
});

Deno.test("runTurn() - the creator's own wording (knowledge base settings.safety_message) leads the safe reply", async () => {
  await using env = await testKnowledge();
  const k = env.knowledge;
  const coach = await seedCoach(k, { Strength: STRENGTH });
  const wording = "Health questions go to a professional: please call your GP or physio.";
  await withTenant(
    k.pool,
    coach.creatorId,
    (c) =>
      c.query("update knowledge_bases set settings = $2 where id = $1", [
        coach.knowledgeBaseId,
        { safety_message: wording },
      ]),
  );
  const r = await turn(k, coach.creatorId, "Should I put ice or heat on my sprained ankle?");
  assert.equal(r.safety?.action, "declined");
  assert.ok(r.answer.startsWith(wording), r.answer);
  assert.match(r.answer, /The pain rule/);
});

Deno.test("runTurn() - a symptom a passage clearly covers is answered from it, with the safety note", async () => {
  await using env = await testKnowledge();
  const k = env.knowledge;
  const coach = await seedCoach(k, { Strength: STRENGTH, Running: RUNNING });
  const r = await turn(
    k,
    coach.creatorId,
    "The front of my lower legs aches after every run, what should I change?",
  );
  assert.equal(r.refused, false);
  assert.deepEqual(r.safety, { concern: "symptom", action: "noted" });
  assert.match(r.answer, /training load rose\s+too quickly/);
  assert.match(r.answer, /see a doctor or a physiotherapist/);
  assert.equal(r.citations[0]?.documentId, coach.documentIds.Running);
  // A described symptom no passage covers gets the safe reply instead.
  const other = await turn(k, coach.creatorId, "My fingers go numb during planks, is that normal?");
  assert.equal(other.refused, true);
  assert.equal(other.safety?.action, "declined");
  assert.match(other.answer, /emergency number/);
});

Deno.test("runTurn() - with a chat model, a health question gets the safe reply without asking the model", async () => {
  await using env = await testKnowledge();
  await using fake = startFakeOllama();
  const chat = new OllamaChatModel({ host: fake.url, model: "llama3.1:8b" });
  const k: Knowledge = {
    ...env.knowledge,
    responder: new ChatModelResponder(chat),
    judge: new ChatModelJudge(chat),
  };
  const coach = await seedCoach(k, { Strength: STRENGTH });
  const r = await turn(k, coach.creatorId, "Can I take two ibuprofen before my long run?");
  assert.equal(r.safety?.action, "declined");
  assert.equal(fake.requests.filter((q) => q.path === "/api/chat").length, 0);
});
