import assert from "node:assert/strict";
import { z } from "zod";
import { defineActor, ManualClock } from "../../runtime/mod.ts";
import { eventually, sleep, testDb, testNats } from "../../tests/harness.ts";
import { startActorNode } from "../../tests/actor_node.ts";
import { type Inbound, type InboundContent, userActor, userAddress } from "../mod.ts";
import { NOTICES } from "./inbound.ts";

const T0 = Date.parse("2026-03-01T08:00:00Z");

/** Stands in for the ConversationActor: records every message it is told. */
const conversations = defineActor({
  type: "conversation",
  state: z.object({ got: z.array(z.unknown()) }),
  initial: () => ({ got: [] as unknown[] }),
  handlers: (h) => ({
    message: h(z.record(z.string(), z.unknown()), (ctx, m) => void ctx.state.got.push(m)),
  }),
});

async function setup(debounceMs = 1500) {
  const stack = new AsyncDisposableStack();
  const db = stack.use(await testDb());
  const nats = stack.use(await testNats());
  const clock = new ManualClock(T0);
  const node = stack.use(
    await startActorNode({
      pool: db.pool,
      nats,
      actors: [userActor({ debounceMs }), conversations],
      clock,
    }),
  );
  const creatorId = crypto.randomUUID();
  const endUserId = crypto.randomUUID();
  const identityId = crypto.randomUUID();
  let n = 0;
  const send = (content: InboundContent, over: Partial<Inbound> = {}) =>
    node.system.client.tell(userAddress(creatorId, endUserId), "inbound", {
      channel: "telegram",
      connectionId: crypto.randomUUID(),
      creatorId,
      externalUserId: "42",
      externalMessageId: `m${++n}`,
      sentAt: clock.now(),
      content,
      endUserId,
      identityId,
      receivedAt: clock.now(),
      ...over,
    });
  const told = () => node.eventsOn("delivery.requested");
  /** What the conversation actor (the stand-in) received, read from its stored state. */
  const received = async () => {
    const { rows } = await db.pool.query(
      "select actor_id, state from rt_actor_state where actor_type = 'conversation'",
    );
    return rows.flatMap((r) => r.state.got.map((g: object) => ({ actor: r.actor_id, ...g })));
  };
  const moved = stack.move();
  return {
    clock,
    node,
    creatorId,
    endUserId,
    identityId,
    send,
    told,
    received,
    [Symbol.asyncDispose]: () => moved.disposeAsync(),
  };
}

Deno.test("UserActor.inbound - a burst within the debounce window reaches the conversation as one message", async () => {
  await using t = await setup();
  await t.send({ type: "text", text: "Hi" });
  await t.send({ type: "text", text: "I slept badly" });
  await t.send({ type: "button", payload: "tip", text: "Give me a tip" });
  await sleep(300);
  assert.deepEqual(await t.received(), [], "nothing before the window closes");
  t.clock.advance(1499);
  await sleep(200);
  assert.deepEqual(await t.received(), []);
  t.clock.advance(2);
  const got = await eventually(async () => {
    const r = await t.received();
    return r.length ? r : undefined;
  });
  assert.equal(got.length, 1);
  assert.equal(got[0].text, "Hi\nI slept badly\nGive me a tip");
  assert.equal(got[0].identityId, t.identityId);
  assert.equal(got[0].userId, t.endUserId);
  assert.equal(got[0].messageId, "m1+3");
  // The next burst goes to the same conversation.
  await t.send({ type: "text", text: "Thanks" });
  t.clock.advance(1501);
  await eventually(async () => (await t.received()).length === 2);
  const [a, b] = await t.received();
  assert.equal(a.actor, b.actor);
});

Deno.test("UserActor.inbound - a person who keeps typing is answered after three windows at most", async () => {
  await using t = await setup(1000);
  for (let i = 0; i < 6; i++) {
    await t.send({ type: "text", text: `part ${i}` });
    await sleep(100);
    t.clock.advance(600);
  }
  await eventually(async () => (await t.received()).length >= 1);
  const first = (await t.received())[0];
  assert.ok(first.text.startsWith("part 0\npart 1\npart 2\npart 3\npart 4"), first.text);
});

Deno.test("UserActor.inbound - commands and what it cannot read get a notice, not the coach", async () => {
  await using t = await setup(0);
  await t.send({ type: "command", command: "start", args: "" });
  await t.send({ type: "command", command: "help", args: "" });
  await t.send({ type: "attachment", kind: "image" });
  await t.send({ type: "text", text: " STOP " });
  await t.send({ type: "command", command: "start", args: "" });
  await eventually(() => t.told().length === 5);
  assert.deepEqual(t.told().map((d) => d.text), [
    NOTICES.welcome,
    NOTICES.help,
    NOTICES.textOnly,
    NOTICES.stopped,
    NOTICES.restarted,
  ]);
  assert.ok(t.told().every((d) => d.purpose === "notice" && d.identityId === t.identityId));
  // A photo with a caption is read as its caption.
  await t.send({ type: "attachment", kind: "image", caption: "Is this a good stretch?" });
  await eventually(async () => (await t.received()).length === 1);
  assert.equal((await t.received())[0].text, "Is this a good stretch?");
});
