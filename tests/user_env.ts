/** A UserActor on a test node with a manual clock, and what it asked the channels to send. */
import { z } from "zod";
import { defineActor, ManualClock } from "../runtime/mod.ts";
import { eventually, testDb, testNats } from "./harness.ts";
import { startActorNode } from "./actor_node.ts";
import { type Inbound, type InboundContent, userActor, userAddress } from "../actors/mod.ts";
import type { FlowDefinition } from "../actors/contracts/program.ts";

/** Stands in for the ConversationActor: records what it is told. */
const conversations = defineActor({
  type: "conversation",
  state: z.object({ got: z.array(z.unknown()) }),
  initial: () => ({ got: [] as unknown[] }),
  handlers: (h) => ({
    message: h(z.record(z.string(), z.unknown()), (ctx, m) => void ctx.state.got.push(m)),
  }),
});

export async function programEnv(start: number) {
  const stack = new AsyncDisposableStack();
  const db = stack.use(await testDb());
  const nats = stack.use(await testNats());
  const clock = new ManualClock(start);
  const node = stack.use(
    await startActorNode({
      pool: db.pool,
      nats,
      actors: [userActor({ debounceMs: 0 }), conversations],
      clock,
      // Every turn runs twice and must do the same: handlers depend on nothing but their input.
      faults: { replayTurns: true },
    }),
  );
  const creatorId = crypto.randomUUID();
  const endUserId = crypto.randomUUID();
  const identityId = crypto.randomUUID();
  const user = userAddress(creatorId, endUserId);
  const client = node.system.client;
  let n = 0;
  const send = (content: InboundContent, over: Partial<Inbound> = {}) =>
    client.tell(user, "inbound", {
      channel: "telegram",
      connectionId: "00000000-0000-4000-8000-000000000001",
      creatorId,
      externalUserId: "42",
      externalMessageId: `m${++n}`,
      sentAt: clock.now(),
      content,
      endUserId,
      identityId,
      receivedAt: clock.now(),
      ...over,
    }, over.externalMessageId ? { msgId: `in:${over.externalMessageId}` } : {});
  /** Deliveries asked for so far, oldest first. */
  const sent = () =>
    node.eventsOn("delivery.requested") as {
      text: string;
      purpose: string;
      identityId?: string;
      quickReplies?: { label: string; payload: string }[];
    }[];
  const texts = (purpose = "program") =>
    sent().filter((d) => d.purpose === purpose).map((d) => d.text);
  /** Waits until `count` program messages went out, and returns their texts. */
  const programTexts = (count: number) =>
    eventually(() => {
      const t = texts();
      return t.length >= count ? t : null;
    }, { what: `${count} program messages (have ${texts().length})` });
  const enroll = (
    programId: string,
    flow: FlowDefinition,
    o: { version?: number; name?: string } = {},
  ) =>
    client.ask(user, "enroll", {
      programId,
      version: o.version ?? 1,
      name: o.name ?? "Sleep basics",
      flow,
      by: "creator",
    });
  const progress = async (programId: string) =>
    (await client.ask(user, "getEnrollments")).find((p) => p.programId === programId)!;
  const moved = stack.move();
  return {
    db,
    clock,
    node,
    client,
    creatorId,
    endUserId,
    identityId,
    user,
    send,
    sent,
    texts,
    programTexts,
    enroll,
    progress,
    [Symbol.asyncDispose]: () => moved.disposeAsync(),
  };
}
