/**
 * A whole node on a ManualClock, against the real Postgres and NATS: nothing that waits on time
 * happens until the clock is advanced, and it happens once it is. Each "not yet" check waits a
 * real second or more, far longer than the delays involved would take on a real clock.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { AskTimeoutError, defineActor, ManualClock } from "../runtime/mod.ts";
import { counter } from "../runtime/testdata/actors.ts";
import { eventually, sleep, testDb, testNats } from "./harness.ts";
import { startTestSystem } from "./runtime_harness.ts";

/** Fails its first two attempts at each message, then succeeds. */
let attempts = 0;
const flaky = defineActor({
  type: "flaky",
  state: z.object({ ok: z.number() }),
  initial: () => ({ ok: 0 }),
  handlers: (h) => ({
    work: h(z.null(), (ctx) => {
      if (++attempts <= 2) throw new Error(`attempt ${attempts} fails`);
      return ++ctx.state.ok;
    }),
  }),
});

async function manualNode(extra: Parameters<typeof startTestSystem>[2] = {}) {
  const db = await testDb();
  const nats = await testNats();
  const clock = new ManualClock();
  const sys = await startTestSystem(db, nats, {
    clock,
    actors: [counter, flaky],
    reminderWindowMs: 1000,
    ...extra,
  });
  return {
    db,
    nats,
    clock,
    sys,
    async [Symbol.asyncDispose]() {
      await sys.stop();
      await nats[Symbol.asyncDispose]();
      await db[Symbol.asyncDispose]();
    },
  };
}

const n = async (sys: Awaited<ReturnType<typeof manualNode>>["sys"], id: string) =>
  (await sys.ref(counter, id).ask("get", null)).n;

Deno.test("ManualClock node - a reminder fires only once the clock passes its due time", async () => {
  await using t = await manualNode();
  const start = t.clock.now();
  await t.sys.ref(counter, "r").ask("remindMe", { name: "soon", after: 500 });
  await sleep(1500);
  assert.equal(await n(t.sys, "r"), 0, "fired while the clock stood still");
  t.clock.advance(499);
  await sleep(1000);
  assert.equal(await n(t.sys, "r"), 0, "fired early");
  t.clock.advance(1);
  await eventually(async () => (await n(t.sys, "r")) === 1, { what: "the reminder" });
  const { seen } = await t.sys.ref(counter, "r").ask("get", null);
  assert.deepEqual(seen, [`tick:soon:${start + 500}`]);
});

Deno.test("ManualClock node - ctx.setTimer() fires only once the clock passes its delay", async () => {
  await using t = await manualNode();
  await t.sys.ref(counter, "t").ask("timer", 100);
  await sleep(1000);
  assert.equal(await n(t.sys, "t"), 0, "fired while the clock stood still");
  t.clock.advance(99);
  await sleep(500);
  assert.equal(await n(t.sys, "t"), 0, "fired early");
  t.clock.advance(1);
  await eventually(async () => (await n(t.sys, "t")) === 100, { what: "the timer" });
});

Deno.test("ManualClock node - a failed turn is retried only after its backoff on the clock", async () => {
  await using t = await manualNode();
  attempts = 0;
  const reply = t.sys.ref(flaky, "f").ask("work", null);
  await eventually(() => attempts === 1, { what: "first attempt" });
  await sleep(1000);
  assert.equal(attempts, 1, "retried while the clock stood still");
  t.clock.advance(100); // the first backoff
  await eventually(() => attempts === 2, { what: "second attempt" });
  await sleep(500);
  assert.equal(attempts, 2);
  t.clock.advance(200); // the second, doubled
  assert.equal(await reply, 1);
  assert.equal(attempts, 3);
});

Deno.test("ManualClock node - idle actors passivate only once the clock passes the idle time", async () => {
  await using t = await manualNode({ idleMs: 1000 });
  await t.sys.ref(counter, "p").ask("add", { by: 1 });
  assert.equal(t.sys.residentActors, 1);
  await sleep(2500); // a real-clock node would have passivated it by now
  assert.equal(t.sys.residentActors, 1, "passivated while the clock stood still");
  t.clock.advance(1000); // the first passivation check: idle for 1000 ms, not more
  assert.equal(t.sys.residentActors, 1);
  t.clock.advance(1000);
  assert.equal(t.sys.residentActors, 0);
  // Its state is in Postgres.
  assert.equal(await t.sys.ref(counter, "p").ask("add", { by: 1 }), 2);
});

Deno.test("ManualClock node - heartbeats and lease renewal run only when the clock moves", async () => {
  await using t = await manualNode({ heartbeatMs: 200 });
  const beat = async () =>
    (await t.db.pool.query("select heartbeat_at from rt_nodes where instance = $1", [
      t.sys.instance,
    ])).rows[0].heartbeat_at.getTime();
  const lease = async () =>
    (await t.db.pool.query("select max(lease_until) l from rt_partitions")).rows[0].l.getTime();
  const [b0, l0] = [await beat(), await lease()];
  await sleep(1000);
  assert.equal(await beat(), b0);
  assert.equal(await lease(), l0);
  t.clock.advance(200);
  await eventually(async () => (await beat()) > b0 && (await lease()) > l0, {
    what: "a membership round",
  });
});

Deno.test("ManualClock node - an ask times out only once the clock passes its timeout", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  const clock = new ManualClock();
  // Client only: nobody serves the actor, so only the timeout can end the ask.
  await using sys = await startTestSystem(db, nats, { clock, host: false });
  const ask = sys.ref(counter, "nobody").ask("get", null, { timeoutMs: 300 });
  let settled = false;
  void ask.catch(() => {}).finally(() => settled = true);
  await sleep(1000);
  assert.equal(settled, false, "timed out while the clock stood still");
  clock.advance(299);
  await sleep(100);
  assert.equal(settled, false, "timed out early");
  clock.advance(1);
  await assert.rejects(ask, AskTimeoutError);
});
