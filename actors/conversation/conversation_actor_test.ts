import assert from "node:assert/strict";
import { ActorSystem, type AnyActorDefinition, jsonLogger } from "../../runtime/mod.ts";
import { eventually, type TestNats, testNats } from "../../tests/harness.ts";
import { seedCoach, type TestKnowledge, testKnowledge } from "../../tests/knowledge_env.ts";
import { type Responder, startVectorIndexWorker } from "../../knowledge/mod.ts";
import {
  answererActor,
  coachingActors,
  conversationActor,
  type ConversationReply,
  tenantActorId,
  userActor,
} from "../mod.ts";

const SLEEP = `# Sleep
## Naps
Keep naps short: 20 minutes at most, and before 3 pm.

## Caffeine
Caffeine has a half-life of five to six hours. Stop drinking coffee by 2 pm.`;

/** An actor system on the test database and NATS, with the vector index worker beside it. */
async function startNode(
  env: TestKnowledge,
  nats: TestNats,
  actors: AnyActorDefinition[],
): Promise<{ system: ActorSystem } & AsyncDisposable> {
  const stack = new AsyncDisposableStack();
  try {
    const system = stack.use(
      await ActorSystem.start({
        pool: env.db.pool,
        nc: nats.nc,
        actors,
        nodeId: "n1",
        prefix: nats.prefix,
        partitions: 4,
        log: jsonLogger("error"),
      }),
    );
    stack.use(
      await startVectorIndexWorker({
        ...env.knowledge,
        nc: nats.nc,
        prefix: nats.prefix,
        log: jsonLogger("error"),
        deadLetters: system.deadLetters,
      }),
    );
    const moved = stack.move();
    return { system, [Symbol.asyncDispose]: () => moved.disposeAsync() };
  } catch (err) {
    await stack.disposeAsync();
    throw err;
  }
}

Deno.test("ConversationActor - answers with stored citations, remembers turns, hands off when asked", async () => {
  await using env = await testKnowledge();
  await using nats = await testNats();
  const k = env.knowledge;
  const coach = await seedCoach(k, { Sleep: SLEEP });
  await using node = await startNode(env, nats, coachingActors({ knowledge: k }));
  const sys = node.system;
  const events: { subject: string; data: Record<string, unknown> }[] = [];
  const sub = nats.nc.subscribe(`${nats.prefix}.evt.conversation.>`, {
    callback: (_err, msg) => void events.push({ subject: msg.subject, data: msg.json() }),
  });
  const convo = sys.ref(conversationActor(), tenantActorId(coach.creatorId, "c1"));
  const user = sys.ref(userActor(), tenantActorId(coach.creatorId, "u1"));
  await user.ask("updateProfile", { goals: ["sleep better"], language: "en" });

  const first = await convo.ask("message", {
    userId: "u1",
    channel: "web_widget",
    text: "How long should naps be?",
  }) as ConversationReply;
  assert.equal(first.type, "answer");
  if (first.type !== "answer") return;
  assert.equal(first.refused, false);
  assert.match(first.answer, /20 minutes at most/);
  assert.equal(first.citations[0]?.documentTitle, "Sleep");
  assert.equal(first.qa.ok, true);

  const state = await convo.ask("get", null) as {
    turns: { role: string; citations?: { chunkId: string }[] }[];
    handoff: unknown;
  };
  assert.deepEqual(state.turns.map((t) => t.role), ["user", "assistant"]);
  assert.equal(state.turns[1]?.citations?.[0]?.chunkId, first.citations[0]?.chunkId);
  await eventually(
    async () => (await user.ask("getProfile", null) as { topics: string[] }).topics[0] === "Sleep",
    { what: "topic noted on the profile" },
  );
  // Remembered by the vector index once the turn committed.
  await eventually(async () => (await k.store.count("memories", coach.creatorId)) === 1, {
    what: "exchange remembered",
  });

  const handoff = await convo.ask("message", {
    userId: "u1",
    channel: "web_widget",
    text: "I'd like to talk to a real person",
  }) as ConversationReply;
  assert.equal(handoff.type, "answer");
  assert.deepEqual(handoff.type === "answer" && handoff.handoff?.reason, "asked");
  const waiting = await convo.ask("message", {
    userId: "u1",
    channel: "web_widget",
    text: "Hello?",
  }) as ConversationReply;
  assert.equal(waiting.type, "with_creator");
  await convo.ask("creatorReply", { text: "Hi, it's Dana. Let's talk." });
  await convo.ask("resume", null);
  const after = await convo.ask("message", {
    userId: "u1",
    channel: "web_widget",
    text: "When should I stop drinking coffee?",
  }) as ConversationReply;
  assert.equal(after.type, "answer");

  await eventually(() => events.some((e) => e.subject.endsWith("conversation.handoff")), {
    what: "handoff event",
  });
  const h = events.find((e) => e.subject.endsWith("conversation.handoff"))!;
  assert.equal(h.data.reason, "asked");
  assert.equal(h.data.creatorId, coach.creatorId);
  assert.ok(
    events.some((e) => e.subject.endsWith("conversation.for_creator") && e.data.text === "Hello?"),
  );
  assert.ok(events.some((e) => e.data.fromCreator === true));
  sub.unsubscribe();
});

Deno.test("ConversationActor - a long conversation keeps recent turns and folds the rest into a summary", async () => {
  await using env = await testKnowledge();
  await using nats = await testNats();
  const k = env.knowledge;
  const coach = await seedCoach(k, { Sleep: SLEEP });
  await using node = await startNode(env, nats, coachingActors({ knowledge: k }));
  const sys = node.system;
  const convo = sys.ref(conversationActor(), tenantActorId(coach.creatorId, "long"));
  for (let i = 0; i < 7; i++) {
    await convo.ask("message", {
      userId: "u",
      channel: "whatsapp",
      text: `How long should naps be? (${i})`,
    });
  }
  const s = await convo.ask("get", null) as {
    turns: unknown[];
    summary: string;
    turnCount: number;
  };
  assert.equal(s.turnCount, 14);
  assert.equal(s.turns.length, 10);
  assert.match(s.summary, /User asked: "How long should naps be\? \(0\)"/);
  assert.match(s.summary, /Assistant answered from Sleep\./);
});

Deno.test("ConversationActor - recalls remembered exchanges older than the recent turns for the responder", async () => {
  await using env = await testKnowledge();
  await using nats = await testNats();
  const k = env.knowledge;
  const coach = await seedCoach(k, { Sleep: SLEEP });
  const summaries: string[] = [];
  const responder: Responder = {
    id: "recording",
    answer: (input) => {
      summaries.push(input.summary);
      return k.responder.answer(input);
    },
  };
  const convo = conversationActor();
  const answerer = answererActor({
    brain: { ...k, responder },
    recallMemories: 2,
    recallMinSimilarity: 0,
  });
  await using node = await startNode(env, nats, [convo, answerer, userActor()]);
  const sys = node.system;
  const ref = sys.ref(convo, tenantActorId(coach.creatorId, "recall"));
  const say = (text: string) => ref.ask("message", { userId: "u", channel: "web_widget", text });
  await say("How long should naps be?");
  for (let i = 0; i < 5; i++) await say(`When should I stop drinking coffee? (${i})`);
  await eventually(async () => (await k.store.count("memories", coach.creatorId)) === 6, {
    what: "six exchanges remembered",
  });
  // Nothing was old enough to recall so far.
  assert.ok(summaries.every((s) => !s.includes("Earlier in this conversation")));
  await say("How long can a nap be?");
  const last = summaries.at(-1)!;
  const recalled = last.slice(last.indexOf("Earlier in this conversation:"));
  // Only the first exchange has left the recent turns (the coffee ones are still there).
  assert.match(
    recalled,
    /^Earlier in this conversation:\nUser: How long should naps be\?\nCoach: /,
  );
  assert.equal(recalled.match(/^User: /gm)?.length, 1);
  assert.doesNotMatch(recalled, /coffee/);
});
