import assert from "node:assert/strict";
import {
  type ActorSystemOptions,
  type AnyActorDefinition,
  ManualClock,
  RemoteHandlerError,
} from "../../runtime/mod.ts";
import { eventually, sleep, type TestNats, testNats } from "../../tests/harness.ts";
import { seedCoach, type TestKnowledge, testKnowledge } from "../../tests/knowledge_env.ts";
import { startActorNode } from "../../tests/actor_node.ts";
import { ProviderUnavailableError, type Responder } from "../../knowledge/mod.ts";
import {
  answererActor,
  type AnswererDeps,
  coachingActors,
  conversationActor,
  conversationAddress,
  type ConversationReply,
  tenantActorId,
  turnUuid,
  userActor,
} from "../mod.ts";

const SLEEP = `# Sleep
## Naps
Keep naps short: 20 minutes at most, and before 3 pm.

## Caffeine
Caffeine has a half-life of five to six hours. Stop drinking coffee by 2 pm.`;

/** An actor system on the test database and NATS, with the vector index worker beside it. */
function startNode(
  env: TestKnowledge,
  nats: TestNats,
  actors: AnyActorDefinition[],
  options: Partial<ActorSystemOptions> = {},
) {
  return startActorNode({ pool: env.db.pool, nats, actors, knowledge: env.knowledge, ...options });
}

/** A responder that counts its calls around the knowledge's own. */
function countingResponder(inner: Responder, before?: (call: number) => Promise<unknown>) {
  const counted: { calls: number; responder: Responder } = {
    calls: 0,
    responder: {
      id: "counting",
      async *answer(input, opts) {
        const call = ++counted.calls;
        await before?.(call);
        yield* inner.answer(input, opts);
        // A second call would answer differently, as a model may.
        if (call > 1) yield ` (call ${call})`;
      },
    },
  };
  return counted;
}

/** The actors of a coach with the answerer's dependencies given. */
function coachActors(deps: AnswererDeps, answerTimeoutMs?: number): AnyActorDefinition[] {
  return [conversationActor({ answerTimeoutMs }), answererActor(deps), userActor()];
}

Deno.test("ConversationActor - answers with stored citations, remembers turns, hands off when asked", async () => {
  await using env = await testKnowledge();
  await using nats = await testNats();
  const k = env.knowledge;
  const coach = await seedCoach(k, { Sleep: SLEEP });
  await using node = await startNode(env, nats, coachingActors({ knowledge: k }));
  const sys = node.system;
  const events: { subject: string; data: Record<string, unknown> }[] = [];
  const sub = nats.nc.subscribe(`${nats.prefix}.evt.>`, {
    callback: (_err, msg) => void events.push({ subject: msg.subject, data: msg.json() }),
  });
  const conversationId = crypto.randomUUID();
  const endUser = crypto.randomUUID();
  const identityId = crypto.randomUUID();
  const convo = sys.ref(conversationActor(), tenantActorId(coach.creatorId, conversationId));
  const user = sys.ref(userActor(), tenantActorId(coach.creatorId, endUser));
  await user.ask("updateProfile", { goals: ["sleep better"], language: "en" });

  const first = await convo.ask("message", {
    userId: endUser,
    channel: "web_widget",
    text: "How long should naps be?",
    identityId,
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
    userId: endUser,
    channel: "web_widget",
    text: "I'd like to talk to a real person",
    identityId,
  }) as ConversationReply;
  assert.equal(handoff.type, "answer");
  assert.deepEqual(handoff.type === "answer" && handoff.handoff?.reason, "asked");
  const waiting = await convo.ask("message", {
    userId: endUser,
    channel: "web_widget",
    text: "Hello?",
    identityId,
  }) as ConversationReply;
  assert.equal(waiting.type, "with_creator");
  await convo.ask("creatorReply", { text: "Hi, it's Dana. Let's talk." });
  await convo.ask("resume", null);
  const after = await convo.ask("message", {
    userId: endUser,
    channel: "web_widget",
    text: "When should I stop drinking coffee?",
    identityId,
  }) as ConversationReply;
  assert.equal(after.type, "answer");

  const on = (subject: string) => events.filter((e) => e.subject.endsWith(`.evt.${subject}`));
  await eventually(() => on("delivery.requested").length === 4, { what: "four deliveries" });
  // Three answers and the creator's reply go to the identity the person wrote from.
  assert.deepEqual(on("delivery.requested").map((e) => [e.data.purpose, e.data.identityId]), [
    ["answer", identityId],
    ["answer", identityId],
    ["creator_reply", identityId],
    ["answer", identityId],
  ]);
  assert.deepEqual(on("delivery.requested")[0]!.data.citations, [{ title: "Sleep" }]);
  const status = on("conversation.status").map((e) => [e.data.status, e.data.reason]);
  assert.deepEqual(status, [["handoff", "asked"], ["open", "released"]]);
  const said = on("conversation.message").map((e) => [e.data.role, e.data.text]);
  assert.equal(said.length, 8);
  assert.deepEqual(said[4], ["user", "Hello?"]);
  assert.deepEqual(said[5], ["creator", "Hi, it's Dana. Let's talk."]);
  const hello = on("conversation.message")[4]!.data;
  assert.deepEqual(hello.metadata, { with_creator: true });
  assert.equal(hello.conversationId, conversationId);
  assert.equal(hello.endUserId, endUser);
  // Each assistant record names the delivery that carries it.
  const answerRecord = on("conversation.message")[1]!.data;
  assert.equal(answerRecord.deliveryId, on("delivery.requested")[0]!.data.id);
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

Deno.test("ConversationActor - a retried turn gets the answer its answerer recorded: the model runs once", async () => {
  await using env = await testKnowledge();
  await using nats = await testNats();
  const k = env.knowledge;
  const coach = await seedCoach(k, { Sleep: SLEEP });
  // The first answer takes longer than the conversation waits: its turn times out and retries.
  const counted = countingResponder(
    k.responder,
    (call) => call === 1 ? sleep(600) : Promise.resolve(),
  );
  const answerer = answererActor({ brain: { ...k, responder: counted.responder } });
  let requests = 0;
  const answer = answerer.handlers.answer;
  const countingAnswerer = {
    ...answerer,
    handlers: {
      ...answerer.handlers,
      answer: {
        ...answer,
        handle: (...a: Parameters<typeof answer.handle>) => (requests++, answer.handle(...a)),
      },
    },
  };
  await using node = await startNode(env, nats, [
    conversationActor({ answerTimeoutMs: 400 }),
    countingAnswerer,
    userActor(),
  ]);
  const address = conversationAddress(coach.creatorId, crypto.randomUUID());
  const reply = await node.system.client.ask(address, "message", {
    userId: crypto.randomUUID(),
    channel: "telegram",
    text: "How long should naps be?",
    identityId: crypto.randomUUID(),
  }, { timeoutMs: 20_000 });
  assert.ok(requests >= 2, `the turn asked ${requests} time(s)`);
  assert.equal(counted.calls, 1);
  assert.equal(reply.type, "answer");
  assert.match(reply.type === "answer" ? reply.answer : "", /20 minutes at most/);
  assert.doesNotMatch(reply.type === "answer" ? reply.answer : "", /\(call /);
  const state = await node.system.client.ask(address, "get");
  assert.deepEqual(state.turns.map((t) => t.role), ["user", "assistant"]);
  await eventually(() => node.eventsOn("delivery.requested").length === 1, { what: "the answer" });
  await sleep(200);
  assert.equal(node.eventsOn("delivery.requested").length, 1);
  assert.equal(node.eventsOn("delivery.requested")[0].text, state.turns[1]!.text);
  assert.equal(await node.system.deadLetters.count(), 0);
});

Deno.test("ConversationActor - with the model server down the turn still commits: the person is told and the creator takes the question", async () => {
  await using env = await testKnowledge();
  await using nats = await testNats();
  const k = env.knowledge;
  const coach = await seedCoach(k, { Sleep: SLEEP });
  let calls = 0;
  const down: Responder = {
    id: "down",
    // deno-lint-ignore require-yield -- fails before its first piece, as an open breaker does
    async *answer() {
      calls++;
      throw new ProviderUnavailableError("ollama", 30_000);
    },
  };
  await using node = await startNode(env, nats, coachActors({ brain: { ...k, responder: down } }));
  const address = conversationAddress(coach.creatorId, crypto.randomUUID());
  const reply = await node.system.client.ask(address, "message", {
    userId: crypto.randomUUID(),
    channel: "telegram",
    text: "How long should naps be?",
    identityId: crypto.randomUUID(),
  }, { timeoutMs: 20_000 });
  assert.equal(calls, 1);
  assert.equal(reply.type, "answer");
  assert.match(reply.type === "answer" ? reply.answer : "", /passing your question to your coach/);
  const state = await node.system.client.ask(address, "get");
  assert.equal(state.handoff?.reason, "unavailable");
  await eventually(() => node.eventsOn("delivery.requested").length === 1, { what: "the notice" });
  assert.equal(await node.system.deadLetters.count(), 0);
});

Deno.test("ConversationActor - an error that is not a provider outage still fails the turn", async () => {
  await using env = await testKnowledge();
  await using nats = await testNats();
  const k = env.knowledge;
  const coach = await seedCoach(k, { Sleep: SLEEP });
  const broken: Responder = {
    id: "broken",
    // deno-lint-ignore require-yield -- fails before its first piece
    async *answer() {
      throw new TypeError("a bug, not an outage");
    },
  };
  await using node = await startNode(
    env,
    nats,
    coachActors({ brain: { ...k, responder: broken } }, 2000),
  );
  const address = conversationAddress(coach.creatorId, crypto.randomUUID());
  await assert.rejects(
    node.system.client.ask(address, "message", {
      userId: crypto.randomUUID(),
      channel: "telegram",
      text: "How long should naps be?",
      identityId: crypto.randomUUID(),
    }, { timeoutMs: 1500 }),
  );
  const state = await node.system.client.ask(address, "get");
  assert.equal(state.handoff, null);
  assert.equal(node.eventsOn("delivery.requested").length, 0);
});

Deno.test("ConversationActor - a message delivered again under its id gets the first reply and changes nothing", async () => {
  await using env = await testKnowledge();
  await using nats = await testNats();
  const k = env.knowledge;
  const coach = await seedCoach(k, { Sleep: SLEEP });
  const counted = countingResponder(k.responder);
  const clock = new ManualClock(Date.parse("2026-03-01T08:00:00Z"));
  const t0 = clock.now();
  await using node = await startNode(
    env,
    nats,
    coachActors({ brain: { ...k, responder: counted.responder } }),
    { clock },
  );
  const client = node.system.client;
  const address = conversationAddress(coach.creatorId, crypto.randomUUID());
  const naps = {
    userId: crypto.randomUUID(),
    channel: "whatsapp" as const,
    text: "How long should naps be?",
    messageId: "wamid.1",
    identityId: crypto.randomUUID(),
  };
  const first = await client.ask(address, "message", naps, { msgId: "delivery-1" });
  clock.advance(60_000);
  // The provider delivers the same message again (its webhook retried): another runtime message.
  const again = await client.ask(address, "message", naps, { msgId: "delivery-2" });
  assert.equal(first.type, "answer");
  assert.deepEqual(again, first);
  assert.equal(counted.calls, 1);
  const state = await client.ask(address, "get");
  assert.equal(state.turnCount, 2);
  assert.deepEqual(state.turns.map((t) => [t.role, t.at, t.messageId ?? t.replyTo]), [
    ["user", t0, "wamid.1"],
    ["assistant", t0, "wamid.1"],
  ]);
  // Ids come from the message that made them: the same on any replay of it.
  assert.equal(state.indexGen, turnUuid({ self: address, messageId: "delivery-1" }, "index-gen"));

  // Handed to the creator, a repeated message is passed on once.
  const human = { ...naps, text: "I want to talk to a real person", messageId: "wamid.2" };
  const handoff = await client.ask(address, "message", human);
  assert.equal(handoff.type === "answer" && handoff.handoff?.reason, "asked");
  assert.deepEqual(await client.ask(address, "message", human), handoff);
  const hello = { ...naps, text: "Hello?", messageId: "wamid.3" };
  const waiting = await client.ask(address, "message", hello);
  assert.equal(waiting.type, "with_creator");
  assert.deepEqual(await client.ask(address, "message", hello), waiting);
  assert.equal((await client.ask(address, "get")).turnCount, 5);

  await eventually(() => node.eventsOn("conversation.message").length === 5);
  await eventually(() => node.eventsOn("delivery.requested").length === 2);
  assert.equal(node.eventsOn("conversation.status").length, 1);
  assert.deepEqual(
    node.eventsOn("conversation.message").map((e) => [e.role, e.messageId ?? e.replyTo]),
    [
      ["user", "wamid.1"],
      ["assistant", "wamid.1"],
      ["user", "wamid.2"],
      ["assistant", "wamid.2"],
      ["user", "wamid.3"],
    ],
  );
  // A delivery's id comes from the message that asked for it; each record names its delivery.
  const deliveries = node.eventsOn("delivery.requested").map((e) => e.id);
  assert.equal(
    deliveries[0],
    turnUuid({ self: address, messageId: "delivery-1" }, "delivery:answer"),
  );
  assert.equal(new Set(deliveries).size, 2);
  assert.deepEqual(
    node.eventsOn("conversation.message").filter((e) => e.role === "assistant").map((e) =>
      e.deliveryId
    ),
    deliveries,
  );
  assert.equal(node.eventsOn("index.memories.put").length, 2);
  assert.equal(counted.calls, 1);
});

Deno.test("ConversationActor - erase forgets the conversation, retires its memories and its answerer's records", async () => {
  await using env = await testKnowledge();
  await using nats = await testNats();
  const k = env.knowledge;
  const coach = await seedCoach(k, { Sleep: SLEEP });
  await using node = await startNode(env, nats, coachingActors({ knowledge: k }));
  const client = node.system.client;
  const address = conversationAddress(coach.creatorId, "gone");
  await client.ask(address, "message", {
    userId: "u1",
    channel: "mobile_app",
    text: "How long should naps be?",
  });
  const { indexGen } = await client.ask(address, "get");
  const stored = async (type: string) =>
    (await env.db.pool.query(
      "select 1 from rt_actor_state where actor_type = $1 and actor_id = $2",
      [type, address.id],
    )).rowCount;
  assert.equal(await stored("answerer"), 1);
  await client.ask(address, "erase", { reason: "deleted_by_creator" });
  assert.equal(await stored("conversation"), 0);
  await eventually(async () => (await stored("answerer")) === 0, { what: "answerer erased" });
  await eventually(() => node.eventsOn("index.memories.erase").length === 1);
  assert.deepEqual(node.eventsOn("index.memories.erase")[0], {
    creatorId: coach.creatorId,
    documentId: address.id,
    gen: indexGen,
  });
  const fresh = await client.ask(address, "get");
  assert.equal(fresh.turnCount, 0);
  assert.equal(fresh.indexGen, undefined);
});

Deno.test("ConversationActor - a message failing its contract is dead-lettered and changes nothing", async () => {
  await using env = await testKnowledge();
  await using nats = await testNats();
  const k = env.knowledge;
  const coach = await seedCoach(k, { Sleep: SLEEP });
  const counted = countingResponder(k.responder);
  await using node = await startNode(
    env,
    nats,
    coachActors({ brain: { ...k, responder: counted.responder } }),
  );
  const client = node.system.client;
  const address = conversationAddress(coach.creatorId, "bad");
  const ok = { userId: "u1", channel: "web_widget", text: "How long should naps be?" };
  const bad: [string, unknown, RegExp][] = [
    // The old channel names are not in the vocabulary.
    ["message", { ...ok, channel: "web" }, /"message" .* "conversation": channel: Invalid option/],
    ["message", { ...ok, channel: "sms" }, /channel: Invalid option/],
    ["message", { ...ok, text: "" }, /text: Too small/],
    ["message", { ...ok, knowledgeBaseIds: ["kb-1"] }, /knowledgeBaseIds\.0: /],
    ["creatorReply", { text: 42 }, /"creatorReply" .* text: /],
    ["erase", {}, /"erase" .* reason: /],
    ["summarise", null, /has no handler for message kind "summarise"/],
  ];
  for (const [kind, data, reason] of bad) {
    await assert.rejects(
      () => client.ask(address, kind as never, data as never),
      (err: Error) => err instanceof RemoteHandlerError && reason.test(err.message),
      `${kind} ${JSON.stringify(data)}`,
    );
  }
  assert.equal((await node.system.deadLetters.list()).length, bad.length);
  assert.equal((await client.ask(address, "get")).turnCount, 0);
  assert.equal(counted.calls, 0);
  assert.deepEqual(node.events, []);
});

Deno.test("ConversationActor - a conversation stored before messages had ids takes the next message", async () => {
  await using env = await testKnowledge();
  await using nats = await testNats();
  const k = env.knowledge;
  const coach = await seedCoach(k, { Sleep: SLEEP });
  await using node = await startNode(env, nats, coachingActors({ knowledge: k }));
  const address = conversationAddress(coach.creatorId, "old");
  const old = {
    userId: "u1",
    channel: "web_widget",
    turns: [
      { role: "user", text: "Hi", at: 1 },
      { role: "assistant", text: "Hello.", at: 2, qa: { ok: true, grounding: 1, refused: false } },
    ],
    summary: "",
    refusalsInRow: 0,
    handoff: null,
    turnCount: 2,
  };
  await env.db.pool.query(
    `insert into rt_actor_state (actor_type, actor_id, partition, version, state)
     values ('conversation', $1, $2, 1, $3)`,
    [address.id, node.system.mailboxOf(address).partition, old],
  );
  const reply = await node.system.client.ask(address, "message", {
    userId: "u1",
    channel: "web_widget",
    text: "How long should naps be?",
    messageId: "m1",
  });
  assert.equal(reply.type, "answer");
  const state = await node.system.client.ask(address, "get");
  assert.equal(state.turnCount, 4);
  assert.deepEqual((state as { handled?: string[] }).handled, ["m1"]);
});
