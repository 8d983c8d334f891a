import assert from "node:assert/strict";
import { seedCoach, testKnowledge } from "../../tests/knowledge_env.ts";
import { asksForHuman, followUpContext, runTurn } from "./brain.ts";
import { retrieve } from "../retrieval/retrieve.ts";
import { ChatModelResponder } from "./responder.ts";
import { OllamaChatModel } from "../models/ollama.ts";
import { startFakeOllama } from "../../tests/fakes/ollama.ts";
import type { AnswerFormat } from "./qa.ts";

/** A channel where Markdown renders and answers may be long (the widget's and the app's). */
const ROOMY: AnswerFormat = { maxChars: 1200, markdown: true };

const SLEEP = `# Sleep
## Caffeine
Caffeine has a half-life of five to six hours. Stop drinking coffee by 2 pm.

## Naps
Keep naps short: 20 minutes at most, and before 3 pm.`;

const RUNNING = `# Running
## How often
Run three times a week on non-consecutive days.

## Shoes
Replace running shoes after about 600 to 800 km.`;

Deno.test("retrieve() - a creator never gets another creator's chunks, even for their exact words", async () => {
  await using env = await testKnowledge();
  const k = env.knowledge;
  const a = await seedCoach(k, { Sleep: SLEEP }, "A");
  const b = await seedCoach(k, { Running: RUNNING }, "B");
  const forA = await retrieve(k, {
    creatorId: a.creatorId,
    query: "How often should I replace running shoes?",
    k: 10,
  });
  assert.ok(forA.length > 0);
  assert.ok(forA.every((p) => p.creatorId === a.creatorId && p.documentId === a.documentIds.Sleep));
  const forB = await retrieve(k, {
    creatorId: b.creatorId,
    query: "Stop drinking coffee by 2 pm",
    k: 10,
  });
  assert.ok(forB.every((p) => p.creatorId === b.creatorId));
  // Restricting to a knowledge base of another creator yields nothing rather than their chunks.
  const cross = await retrieve(k, {
    creatorId: a.creatorId,
    query: "running shoes",
    knowledgeBaseIds: [b.knowledgeBaseId],
  });
  assert.deepEqual(cross, []);
});

Deno.test("retrieve() - returns chunks with document, heading, position and scores, best first", async () => {
  await using env = await testKnowledge();
  const k = env.knowledge;
  const coach = await seedCoach(k, { Sleep: SLEEP, Running: RUNNING });
  const [top, ...rest] = await retrieve(k, {
    creatorId: coach.creatorId,
    query: "how long should a nap be",
    k: 3,
  });
  assert.equal(top?.documentTitle, "Sleep");
  assert.equal(top?.heading, "Sleep > Naps");
  assert.match(top!.text, /20 minutes at most/);
  assert.ok(top!.position.end > top!.position.start);
  assert.ok(rest.every((p) => p.score <= top!.score));
});

Deno.test("runTurn() - answers from the knowledge with a citation and passes QA", async () => {
  await using env = await testKnowledge();
  const k = env.knowledge;
  const coach = await seedCoach(k, { Sleep: SLEEP, Running: RUNNING });
  const r = await runTurn(k, {
    creatorId: coach.creatorId,
    message: "How many times a week should I run?",
    history: [],
    summary: "",
    format: ROOMY,
  });
  assert.equal(r.refused, false);
  assert.match(r.answer, /three times a week/);
  assert.match(r.answer, /\[1\]/);
  assert.equal(r.citations[0]?.documentTitle, "Running");
  assert.equal(r.qa.ok, true);
  assert.equal(r.qa.grounded, true);
});

Deno.test("runTurn() - refuses out-of-scope questions plainly, then hands off when it keeps failing", async () => {
  await using env = await testKnowledge();
  const k = env.knowledge;
  const coach = await seedCoach(k, { Sleep: SLEEP, Running: RUNNING });
  for (const q of ["What's the capital of Australia?", "How do I set up a VPN on my laptop?"]) {
    const r = await runTurn(k, {
      creatorId: coach.creatorId,
      message: q,
      history: [],
      summary: "",
      format: ROOMY,
    });
    assert.equal(r.refused, true, q);
    assert.match(r.answer, /^I couldn't find an answer to that in your coach's material/);
    // It names the closest topics the knowledge covers and offers the coach.
    assert.match(r.answer, /The closest topics it covers are "[^"]+"/);
    assert.match(r.answer, /pass your question to your coach/);
    assert.deepEqual(r.citations, []);
    assert.equal(r.handoff, undefined);
  }
  const again = await runTurn(k, {
    creatorId: coach.creatorId,
    message: "Who won the 1998 Tour de France?",
    history: [],
    summary: "",
    format: ROOMY,
    refusalsInRow: 1,
  });
  assert.equal(again.refused, true);
  assert.deepEqual(again.handoff, { reason: "low_confidence" });
});

Deno.test("runTurn() - a request for a human hands off at once", async () => {
  await using env = await testKnowledge();
  const k = env.knowledge;
  const coach = await seedCoach(k, { Sleep: SLEEP });
  const r = await runTurn(k, {
    creatorId: coach.creatorId,
    message: "Can I talk to a real person please?",
    history: [],
    summary: "",
    format: { maxChars: 1000, markdown: false },
  });
  assert.deepEqual(r.handoff, { reason: "asked" });
  assert.match(r.answer, /passing your message to your coach/);
});

Deno.test("runTurn() - fits the answer to the channel's length", async () => {
  await using env = await testKnowledge();
  const k = env.knowledge;
  const coach = await seedCoach(k, { Sleep: SLEEP });
  const r = await runTurn(k, {
    creatorId: coach.creatorId,
    message: "When should I stop drinking coffee?",
    history: [],
    summary: "",
    format: { maxChars: 320, markdown: false },
  });
  assert.ok(r.answer.length <= 320);
  assert.equal(r.qa.lengthOk, true);
});

Deno.test("asksForHuman() and followUpContext() recognise handoff requests and follow-ups", () => {
  assert.ok(asksForHuman("I want to speak to my coach"));
  assert.ok(asksForHuman("human please"));
  assert.ok(!asksForHuman("How do I coach myself to run faster?"));
  const history = [{ role: "user" as const, text: "What is box breathing?" }, {
    role: "assistant" as const,
    text: "…",
  }];
  assert.equal(followUpContext("How long should I do it?", history), "What is box breathing?");
  assert.equal(
    followUpContext("What should I eat before a marathon race in hot weather conditions?", history),
    undefined,
  );
  assert.equal(followUpContext("Anything?", []), undefined);
});

Deno.test("runTurn() - with a chat model, an ungrounded answer fails QA and goes to the creator", async () => {
  await using env = await testKnowledge();
  await using fake = startFakeOllama();
  const coach = await seedCoach(env.knowledge, { Sleep: SLEEP });
  const k = {
    ...env.knowledge,
    responder: new ChatModelResponder(new OllamaChatModel({ host: fake.url, model: "m" })),
  };
  const ask = {
    creatorId: coach.creatorId,
    message: "How long should naps be?",
    history: [],
    summary: "",
    format: ROOMY,
  };
  fake.chatReply = "Keep naps short: 20 minutes at most, before 3 pm [1].";
  const good = await runTurn(k, ask);
  assert.equal(good.qa.ok, true);
  assert.equal(good.answer, fake.chatReply);
  assert.equal(good.citations[0]?.documentTitle, "Sleep");

  fake.chatReply = "Take ten milligrams of melatonin with warm milk every evening [1].";
  const bad = await runTurn(k, ask);
  assert.equal(bad.qa.grounded, false);
  assert.deepEqual(bad.handoff, { reason: "failed_qa" });
  assert.match(bad.answer, /passing your question to your coach/);
  assert.ok(!bad.answer.includes("melatonin"));

  fake.chatReply = "Keep naps short: 20 minutes at most.";
  const uncited = await runTurn(k, ask);
  assert.equal(uncited.qa.citationsValid, false);
  assert.deepEqual(uncited.handoff, { reason: "failed_qa" });
});

Deno.test("retrieve() - the user's goals break ties between look-alike passages", async () => {
  await using env = await testKnowledge();
  const coach = await seedCoach(env.knowledge, {
    Running: "# Running\n## Warm-up\nWarm up for five minutes with brisk walking before you jog.",
    Strength:
      "# Strength\n## Warm-up\nWarm up for five minutes with light sets before lifting weights.",
  });
  const q = { creatorId: coach.creatorId, query: "How should I warm up?", k: 2 };
  const runner = await retrieve(env.knowledge, {
    ...q,
    goals: ["finish my first 5k race jogging"],
  });
  const lifter = await retrieve(env.knowledge, {
    ...q,
    goals: ["lift heavier weights at the gym"],
  });
  assert.equal(runner[0]?.documentTitle, "Running");
  assert.equal(lifter[0]?.documentTitle, "Strength");
});
