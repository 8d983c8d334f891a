import assert from "node:assert/strict";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { z } from "zod";
import { defineActor, RemoteHandlerError, TerminalError } from "./mod.ts";
import { startTestSystem } from "../tests/runtime_harness.ts";
import { eventually, sleep, testDb, testNats } from "../tests/harness.ts";
import { counter } from "./testdata/actors.ts";

Deno.test("a state row changed behind the runtime's back is reloaded and the turn retried", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await startTestSystem(db, nats);
  const ref = sys.ref(counter, "v");
  assert.equal(await ref.ask("add", { by: 1 }), 1);
  // Someone bumps the row directly: the resident activation now holds a stale version.
  await db.pool.query(
    `update rt_actor_state set version = version + 1, state = jsonb_set(state, '{n}', '41')
     where actor_id = 'v'`,
  );
  assert.equal(await ref.ask("add", { by: 1 }), 42);
});

Deno.test("a second copy of a message (same id, new stream sequence) is dropped, as after a broker crash", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await startTestSystem(db, nats);
  // A broker that lost its duplicate window (or its tail) in a crash stores a retried publish
  // again; here the window is simply made short.
  const jsm = await jetstreamManager(nats.nc);
  const info = await jsm.streams.info(sys.streams.mailbox);
  await jsm.streams.update(sys.streams.mailbox, { ...info.config, duplicate_window: nanos(100) });
  const js = jetstream(nats.nc);
  const subject = sys.mailboxOf({ type: "counter", id: "twice" }).subject;
  const body = new TextEncoder().encode(JSON.stringify({ k: "add", d: { by: 1 } }));
  const first = await js.publish(subject, body, { msgID: "tell-1" });
  await eventually(async () => (await sys.ref(counter, "twice").ask("get", null)).n === 1);
  await sleep(300);
  const second = await js.publish(subject, body, { msgID: "tell-1" });
  assert.equal(second.duplicate, false);
  assert.ok(second.seq > first.seq);
  await js.publish(subject, body, { msgID: "tell-2" });
  const state = await eventually(async () => {
    const s = await sys.ref(counter, "twice").ask("get", null);
    return s.n >= 2 ? s : null;
  });
  assert.equal(state.n, 2);
  assert.deepEqual(state.seen, ["tell-1", "tell-2"]);
  const metrics = await sys.metrics.registry.getSingleMetricAsString("coachd_actor_turns_total");
  assert.match(metrics, /outcome="duplicate",node="n1"} 1$/m);
});

Deno.test("ctx.erase() deletes the actor's state and reminders; the next message finds a fresh actor", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await startTestSystem(db, nats);
  const ref = sys.ref(counter, "gone");
  await ref.ask("add", { by: 5 });
  await ref.ask("remindMe", { name: "later", after: 60_000 });
  await ref.ask("erase", null);
  const { rows: state } = await db.pool.query(
    "select 1 from rt_actor_state where actor_id = 'gone'",
  );
  const { rows: rem } = await db.pool.query("select 1 from rt_reminders where actor_id = 'gone'");
  assert.equal(state.length, 0);
  assert.equal(rem.length, 0);
  assert.equal(await ref.ask("add", { by: 1 }), 1);
  const { rows } = await db.pool.query(
    "select version from rt_actor_state where actor_id = 'gone'",
  );
  assert.equal(Number(rows[0].version), 1);
});

Deno.test("a turn longer than the ack wait keeps its message with working() and is not redelivered", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await startTestSystem(db, nats, { ackWaitMs: 1000 });
  // Three slow turns queue on one actor: the last waits ~3.6 s, far beyond the ack wait.
  const replies = await Promise.all(
    [1200, 1200, 1200].map((ms) => sys.ref(counter, "long").ask("slow", ms)),
  );
  assert.deepEqual(replies, [1, 2, 3]);
  await sleep(1500);
  const metrics = await sys.metrics.registry.getSingleMetricAsString("coachd_actor_turns_total");
  assert.doesNotMatch(metrics, /outcome="duplicate"/, "a message was redelivered");
  assert.equal((await sys.ref(counter, "long").ask("get", null)).n, 3);
});

class PlanLimitError extends TerminalError {
  constructor(readonly limit: number) {
    super(`The plan allows ${limit} seats`, { code: "plan_limit" });
    this.name = "PlanLimitError";
  }
}

const billing = defineActor({
  type: "billing",
  state: z.object({ seats: z.number() }),
  initial: () => ({ seats: 0 }),
  handlers: (h) => ({
    addSeat: h(z.null(), (ctx) => {
      if (ctx.state.seats >= 1) throw new PlanLimitError(1);
      return ++ctx.state.seats;
    }),
    flaky: h(z.null(), () => {
      throw Object.assign(new Error("connection reset"), { code: "ECONNRESET" });
    }),
  }),
});

Deno.test("an ask learns the name, code and message of the error that dead-lettered its message", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await startTestSystem(db, nats, { actors: [counter, billing], maxDeliver: 2 });
  const ref = sys.ref(billing, "b");
  assert.equal(await ref.ask("addSeat", null), 1);
  // A handler's own TerminalError subclass, with its code.
  await assert.rejects(() => ref.ask("addSeat", null), (err: Error) => {
    assert.ok(err instanceof RemoteHandlerError, String(err));
    assert.equal(err.remoteName, "PlanLimitError");
    assert.equal(err.code, "plan_limit");
    assert.equal(err.remoteMessage, "The plan allows 1 seats");
    assert.equal(
      err.message,
      "billing/b rejected the message: PlanLimitError: The plan allows 1 seats",
    );
    return true;
  });
  // A plain error that failed every delivery keeps its name and code too.
  await assert.rejects(() => ref.ask("flaky", null), (err: Error) => {
    assert.ok(err instanceof RemoteHandlerError, String(err));
    assert.equal(err.remoteName, "Error");
    assert.equal(err.code, "ECONNRESET");
    assert.equal(err.remoteMessage, "connection reset");
    assert.match(err.message, /handler failed 2 times, last: Error: connection reset$/);
    return true;
  });
  // The runtime's own rejections name their class.
  await assert.rejects(
    () => sys.client.ask(ref, "addSeat", { not: "null" }),
    (err: Error) =>
      err instanceof RemoteHandlerError && err.remoteName === "InvalidMessageError" &&
      err.code === undefined,
  );
  const reasons = (await sys.deadLetters.list()).map((d) => d.reason);
  assert.equal(reasons.length, 3);
  assert.equal(reasons[0], "PlanLimitError: The plan allows 1 seats");
});

/** Counts handler runs: replay must run each handler exactly twice per message. */
let runs = 0;
const ReplayedState = z.object({
  n: z.number(),
  at: z.array(z.number()),
  heard: z.array(z.number()),
  token: z.string().optional(),
});
const replayed = defineActor({
  type: "replayed",
  state: ReplayedState,
  initial: (): z.infer<typeof ReplayedState> => ({ n: 0, at: [], heard: [] }),
  handlers: (h) => ({
    // Deterministic given its message, state, clock readings and ask replies.
    add: h(z.object({ by: z.number() }), async (ctx, m) => {
      runs++;
      ctx.state.n += m.by;
      ctx.state.at.push(ctx.now());
      ctx.remind("later", { after: 60_000 });
      ctx.setTimer("soon", 60_000, "add", { by: 0 });
      ctx.emit("replayed.added", { n: ctx.state.n });
      ctx.tell({ type: "counter", id: "sink" }, "add", { by: m.by });
      const other = await ctx.ask({ type: "counter", id: `peer-${ctx.state.n}` }, "add", {
        by: 1,
      }) as number;
      ctx.state.heard.push(other);
      return ctx.state.n;
    }),
    randomState: h(z.null(), (ctx) => {
      runs++;
      ctx.state.token = crypto.randomUUID();
    }),
    randomTell: h(z.null(), (ctx) => {
      runs++;
      ctx.tell({ type: "counter", id: crypto.randomUUID() }, "add", { by: 1 });
    }),
  }),
});

Deno.test("faults.replayTurns runs every handler twice on the same input and state; a deterministic turn commits as if run once", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await startTestSystem(db, nats, {
    actors: [counter, replayed],
    faults: { replayTurns: true },
  });
  runs = 0;
  const ref = sys.ref(replayed, "r");
  assert.equal(await ref.ask("add", { by: 2 }), 2);
  assert.equal(await ref.ask("add", { by: 3 }), 5);
  assert.equal(runs, 4, "each handler ran twice");
  const { rows } = await db.pool.query(
    "select version, state from rt_actor_state where actor_type = 'replayed'",
  );
  assert.equal(Number(rows[0].version), 2);
  assert.equal(rows[0].state.n, 5);
  // The replay was fed the first run's clock readings and ask replies: each peer was asked once.
  assert.equal(rows[0].state.at.length, 2);
  assert.deepEqual(rows[0].state.heard, [1, 1]);
  assert.equal((await sys.ref(counter, "peer-2").ask("get", null)).n, 1);
  assert.equal((await sys.ref(counter, "peer-5").ask("get", null)).n, 1);
  // Effects went out once: one tell per message, one reminder.
  await eventually(async () => (await sys.ref(counter, "sink").ask("get", null)).n === 5);
  const { rows: rem } = await db.pool.query("select name from rt_reminders");
  assert.deepEqual(rem.map((r) => r.name), ["later"]);
  assert.equal((await sys.deadLetters.list()).length, 0);
});

Deno.test("faults.replayTurns dead-letters a handler whose replay differs, naming what differs, and commits nothing", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await startTestSystem(db, nats, {
    actors: [counter, replayed],
    faults: { replayTurns: true },
  });
  const ref = sys.ref(replayed, "nd");
  for (const [kind, part] of [["randomState", "state"], ["randomTell", "tells"]] as const) {
    runs = 0;
    await assert.rejects(() => ref.ask(kind, null), (err: Error) => {
      assert.ok(err instanceof RemoteHandlerError, String(err));
      assert.equal(err.remoteName, "NonDeterministicTurnError");
      assert.equal(err.code, "non_deterministic");
      assert.equal(
        err.remoteMessage,
        `Handler "${kind}" of actor type "replayed" is not deterministic: replayed on the same ` +
          `message and state it gave a different ${part}`,
      );
      return true;
    });
    assert.equal(runs, 2);
  }
  const { rows } = await db.pool.query(
    "select 1 from rt_actor_state where actor_type = 'replayed'",
  );
  assert.equal(rows.length, 0);
  assert.equal((await sys.deadLetters.list()).length, 2);
});

Deno.test("without faults a handler runs once per message", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await startTestSystem(db, nats, { actors: [counter, replayed] });
  runs = 0;
  await sys.ref(replayed, "once").ask("randomState", null);
  assert.equal(runs, 1);
});
