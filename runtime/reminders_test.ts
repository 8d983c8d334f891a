import assert from "node:assert/strict";
import { eventually, sleep, testDb, testNats } from "../tests/harness.ts";
import { counter } from "./testdata/actors.ts";
import { ManualClock } from "./clock.ts";
import { startTestSystem } from "../tests/runtime_harness.ts";

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

Deno.test("a failed clean-up after firing (a deadlock, say) fires again: the one-shot comes once, the periodic keeps beating", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  // The first clean-up of fired reminders fails, as a deadlock with a turn's commit would.
  const query = db.pool.query.bind(db.pool) as (...a: unknown[]) => Promise<unknown>;
  let failed = 0;
  (db.pool as unknown as { query: (...a: unknown[]) => Promise<unknown> }).query = (...a) => {
    const sql = typeof a[0] === "string" ? a[0] : "";
    if (failed === 0 && sql.includes("delete from rt_reminders r using x")) {
      failed++;
      return Promise.reject(new Error("deadlock detected"));
    }
    return query(...a);
  };
  await using sys = await startTestSystem(db, nats, { reminderWindowMs: 1000 });
  await sys.ref(counter, "once").ask("remindMe", { name: "once", after: 200 });
  await sys.ref(counter, "beat").ask("remindMe", { name: "beat", after: 200, every: 250 });
  await eventually(async () => (await sys.ref(counter, "beat").ask("get", null)).n >= 4, {
    what: "4 beats after the failed clean-up",
  });
  await eventually(async () => (await sys.ref(counter, "once").ask("get", null)).n === 1, {
    what: "the one-shot reminder",
  });
  assert.equal(failed, 1);
  await eventually(
    async () =>
      (await db.pool.query("select 1 from rt_reminders where actor_id = 'once'")).rowCount === 0,
    {
      what: "the one-shot row removed on the retry",
    },
  );
  await sleep(600);
  assert.equal((await sys.ref(counter, "once").ask("get", null)).n, 1, "fired once");
});
