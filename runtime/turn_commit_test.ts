import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import type { Activation, Item } from "./activations.ts";
import { decodeBase64 } from "./base64.ts";
import { encodeEnvelope } from "./envelope.ts";
import { jsonLogger } from "./logger.ts";
import { planCommit, type PlanOptions } from "./turn_commit.ts";
import { TurnContextImpl } from "./turn_context.ts";
import { startTestSystem } from "../tests/runtime_harness.ts";
import { eventually, sleep, testDb, testNats } from "../tests/harness.ts";
import { counter } from "./testdata/actors.ts";

const plan: PlanOptions = {
  prefix: "p",
  maxPayload: 1024,
  dedupeWindow: 3,
  subjectOf: (to) => `p.mbx.0.${to.type}.${to.id}`,
};

function activation(state: unknown): Activation {
  return {
    key: "counter/a",
    type: "counter",
    id: "a",
    partition: 5,
    epoch: 7,
    def: counter,
    loaded: true,
    state,
    version: 3,
    recent: [10, 11, 12],
    queue: [],
    running: true,
    lastUsed: 0,
  };
}

function item(over: Partial<Item> = {}): Item {
  const base = { subject: "", data: new Uint8Array(), headers: {}, msgId: "m1" };
  return { ...base, key: 13, deliveryCount: 1, receivedAt: 0, ...over };
}

function context(state: unknown) {
  const io = { now: () => 1000, ask: () => Promise.reject(new Error("no asks here")) };
  return new TurnContextImpl(
    { type: "counter", id: "a" },
    state,
    "m1",
    undefined,
    jsonLogger("error"),
    io,
    [],
  );
}

Deno.test("planCommit() turns tells and events into outbox rows with ids derived from the message id", () => {
  const act = activation({ n: 0 });
  const ctx = context({ n: 1 });
  ctx.tell({ type: "counter", id: "b" }, "add", { by: 1 });
  ctx.emit("counter.added", { n: 1 });
  ctx.remind("r", { after: 500 }, { data: 1 });
  ctx.cancelReminder("old");
  const p = planCommit({
    act,
    item: item(),
    ctx,
    state: ctx.state,
    traceparent: "00-trace-span-01",
  }, plan);
  assert.deepEqual(p.outbox.map((r) => [r.id, r.subject, r.h]), [
    ["m1:0", "p.mbx.0.counter.b", { traceparent: "00-trace-span-01" }],
    ["m1:1", "p.evt.counter.added", {
      "Coachd-Actor": "counter/a",
      traceparent: "00-trace-span-01",
    }],
  ]);
  assert.deepEqual(decodeBase64(p.outbox[0]!.b), encodeEnvelope("add", { by: 1 }, 1024));
  assert.deepEqual(p.reminders, [
    {
      t: "counter",
      i: "a",
      n: "r",
      p: 5,
      due: 1500,
      period: null,
      payload: { kind: "r", data: 1 },
    },
  ]);
  assert.deepEqual(p.cancels, [{ t: "counter", i: "a", n: "old", p: 5 }]);
  // The state row carries the next version and the message keys that dedupe a redelivery.
  assert.deepEqual(p.write?.state, {
    t: "counter",
    i: "a",
    p: 5,
    v: 4,
    s: { n: 1 },
    r: [11, 12, 13],
  });
  assert.equal(p.write?.epoch, 7);
});

Deno.test("planCommit() writes nothing for a turn without change or effect; a mailbox message with effects still records its sequence", () => {
  const act = activation({ n: 1 });
  assert.equal(
    planCommit({
      act,
      item: item(),
      ctx: context({ n: 1 }),
      state: { n: 1 },
    }, plan).write,
    undefined,
  );
  const told = context({ n: 1 });
  told.tell({ type: "counter", id: "b" }, "add", {});
  assert.equal(
    planCommit({ act, item: item(), ctx: told, state: { n: 1 } }, plan)
      .write?.state?.v,
    4,
  );
  // A timer firing has no message key to record.
  const local = item({ key: 0, local: { kind: "add", data: {} } });
  assert.equal(
    planCommit({ act, item: local, ctx: told, state: { n: 1 } }, plan)
      .write?.state,
    undefined,
  );
});

Deno.test("planCommit() for an erasing turn drops its reminders and starts from the initial state", () => {
  const ctx = context({ n: 9, seen: [], log: [] });
  ctx.remind("r", { after: 1 });
  ctx.erase();
  const p = planCommit({
    act: activation({ n: 1 }),
    item: item(),
    ctx,
    state: ctx.state,
  }, plan);
  assert.deepEqual(p.reminders, []);
  assert.deepEqual(p.state, counter.initial("a"));
  assert.deepEqual(p.write?.erase, { t: "counter", i: "a", p: 5 });
  assert.equal(p.write?.state, undefined);
});

Deno.test("a handler's tells and events go out once each, even when an outbox row is published again", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await startTestSystem(db, nats);
  for (let i = 0; i < 10; i++) {
    await sys.ref(counter, "src").tell("forward", { to: "dst", by: 1 }, { msgId: `fw-${i}` });
  }
  await eventually(async () => (await sys.ref(counter, "dst").ask("get", null)).n === 10);
  await eventually(async () => {
    const { rows } = await db.pool.query("select count(*)::int n from rt_outbox");
    return rows[0].n === 0;
  }, { what: "outbox drained" });
  // The first tell of the first turn again, as a relay retry after a lost delete would send it:
  // the mailbox's duplicate window drops it.
  const dst = sys.mailboxOf({ type: "counter", id: "dst" });
  await sys.publishOutbox([{
    id: "fw-0:0",
    subject: dst.subject,
    partition: dst.partition,
    payload: encodeEnvelope("add", { by: 1 }, 1024),
  }]);
  // Past one outbox sweep (every 2 s): still once each.
  await sleep(2500);
  const state = await sys.ref(counter, "dst").ask("get", null);
  assert.equal(state.n, 10);
  assert.equal(new Set(state.seen).size, 10);
  const jsm = await jetstreamManager(nats.nc);
  assert.equal((await jsm.streams.info(sys.streams.events)).state.messages, 10);
});
