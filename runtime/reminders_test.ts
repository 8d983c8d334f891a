import assert from "node:assert/strict";
import { eventually, sleep, testDb, testNats } from "../tests/harness.ts";
import { counter } from "./testdata/actors.ts";
import { ManualClock } from "./clock.ts";
import { startTestSystem } from "./test_system.ts";

Deno.test("ctx.remind() fires a one-shot reminder once and a periodic one every period", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await startTestSystem(db, nats, { reminderWindowMs: 1000 });
  const t0 = Date.now();
  await sys.ref(counter, "r").ask("remindMe", { name: "once", after: 300 });
  await sys.ref(counter, "q").ask("remindMe", { name: "beat", after: 200, every: 250 });
  // Beyond the in-memory window when set: loaded by a later window.
  await sys.ref(counter, "far").ask("remindMe", { name: "later", after: 1800 });
  await eventually(async () => (await sys.ref(counter, "q").ask("get", null)).n >= 4, {
    what: "4 beats",
  });
  await eventually(async () => (await sys.ref(counter, "far").ask("get", null)).n === 1, {
    what: "far reminder",
  });
  const r = await sys.ref(counter, "r").ask("get", null);
  assert.equal(r.n, 1);
  const dueAt = Number(r.seen[0]!.split(":")[2]);
  assert.ok(dueAt >= t0 + 300 && dueAt < t0 + 1000, `due ${dueAt - t0} ms after start`);
  const beats = (await sys.ref(counter, "q").ask("get", null)).seen.map((s) =>
    Number(s.split(":")[2])
  );
  for (let i = 1; i < beats.length; i++) assert.equal(beats[i]! - beats[i - 1]!, 250);
  // Cancelling stops the periodic reminder.
  await sys.ref(counter, "q").ask("cancel", "beat");
  const after = (await sys.ref(counter, "q").ask("get", null)).n;
  await sleep(700);
  assert.ok((await sys.ref(counter, "q").ask("get", null)).n <= after + 1);
  const { rows } = await db.pool.query("select count(*)::int n from rt_reminders");
  assert.equal(rows[0].n, 0);
});

Deno.test("ctx.setTimer() delivers an in-memory message to the same activation", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await startTestSystem(db, nats);
  await sys.ref(counter, "t").ask("timer", 100);
  await eventually(async () => (await sys.ref(counter, "t").ask("get", null)).n === 100);
});

Deno.test("every message delivered twice (test mode) leaves state exactly as delivering it once", async () => {
  async function run(deliverTwice: boolean) {
    await using db = await testDb();
    await using nats = await testNats();
    await using sys = await startTestSystem(db, nats, { deliverTwice });
    for (let i = 0; i < 20; i++) {
      await sys.ref(counter, "a").tell("add", { by: i, tag: i });
      await sys.ref(counter, "a").tell("forward", { to: "b", by: 1 });
    }
    await sys.ref(counter, "a").ask("remindMe", { name: "x", after: 100 });
    await eventually(async () => (await sys.ref(counter, "b").ask("get", null)).n === 20);
    await eventually(async () =>
      (await sys.ref(counter, "a").ask("get", null)).seen.some((s) => s.startsWith("tick:"))
    );
    await sleep(300);
    const { rows } = await db.pool.query(
      "select actor_id, version, state from rt_actor_state order by actor_id",
    );
    // Message ids are random per run; compare everything else.
    return rows.map((r) => ({
      id: r.actor_id,
      version: r.version,
      n: r.state.n,
      log: r.state.log,
      seen: r.state.seen.length,
    }));
  }
  assert.deepEqual(await run(true), await run(false));
});

Deno.test("idle actors passivate and the number of resident actors stays bounded", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await startTestSystem(db, nats, { maxResident: 20, idleMs: 1000 });
  for (let i = 0; i < 60; i++) await sys.ref(counter, `m${i}`).ask("add", { by: 1 });
  assert.ok(sys.residentActors <= 21, `resident: ${sys.residentActors}`);
  // State survives passivation: it is reloaded from Postgres.
  assert.equal(await sys.ref(counter, "m0").ask("add", { by: 1 }), 2);
  await eventually(() => sys.residentActors === 0, { timeoutMs: 5000, what: "passivation" });
});

Deno.test("reminders follow the runtime clock: a day-ahead reminder fires when a ManualClock steps past it", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  const clock = new ManualClock();
  await using sys = await startTestSystem(db, nats, { clock, reminderWindowMs: 1000 });
  const day = 24 * 3600_000;
  const start = clock.now();
  await sys.ref(counter, "sim").ask("remindMe", { name: "tomorrow", after: day });
  await sleep(1200);
  assert.equal((await sys.ref(counter, "sim").ask("get", null)).n, 0);
  clock.advance(day - 5000);
  await sleep(1200);
  assert.equal((await sys.ref(counter, "sim").ask("get", null)).n, 0, "fired early");
  clock.advance(5000);
  await eventually(async () => (await sys.ref(counter, "sim").ask("get", null)).n === 1, {
    what: "reminder fired after the clock passed its due time",
  });
  const seen = (await sys.ref(counter, "sim").ask("get", null)).seen;
  assert.equal(Number(seen[0]!.split(":")[2]), start + day);
});
