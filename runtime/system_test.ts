import assert from "node:assert/strict";
import { AskCycleError, AskTimeoutError, RemoteHandlerError } from "./mod.ts";
import { startTestSystem } from "./test_system.ts";
import { eventually, testDb, testNats } from "../tests/harness.ts";
import { counter } from "./testdata/actors.ts";

const system = startTestSystem;

Deno.test("ActorSystem.ask() runs a turn and replies after commit", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await system(db, nats);
  const ref = sys.ref(counter, "a");
  assert.equal(await ref.ask("add", { by: 2 }), 2);
  assert.equal(await ref.ask("add", { by: 3 }), 5);
  const { rows } = await db.pool.query(
    "select version, state from rt_actor_state where actor_id = 'a'",
  );
  assert.equal(rows[0].state.n, 5);
  assert.equal(Number(rows[0].version), 2);
});

Deno.test("ActorSystem keeps per-actor order and runs actors concurrently", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await system(db, nats);
  const sends = [];
  for (let i = 0; i < 50; i++) {
    for (const id of ["x", "y", "z"]) {
      sends.push(sys.ref(counter, id).tell("add", { by: 1, tag: i }));
    }
  }
  await Promise.all(sends);
  for (const id of ["x", "y", "z"]) {
    const state = await eventually(async () => {
      const s = await sys.ref(counter, id).ask("get", null);
      return s.n === 50 ? s : null;
    });
    assert.deepEqual(state.log, Array.from({ length: 50 }, (_, i) => i));
  }
  // A slow turn on one actor does not hold up another.
  const slow = sys.ref(counter, "slow").ask("slow", 1500);
  const t0 = Date.now();
  await sys.ref(counter, "fast").ask("add", { by: 1 });
  assert.ok(Date.now() - t0 < 1000, "fast actor waited for the slow one");
  await slow;
});

Deno.test("ActorClient.ask() rejects with AskTimeoutError when no node serves the actor", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await system(db, nats, { host: false });
  await assert.rejects(
    () => sys.ref(counter, "nobody").ask("add", { by: 1 }, { timeoutMs: 300 }),
    (err: Error) => err instanceof AskTimeoutError && /counter\/nobody.*300 ms/.test(err.message),
  );
});

Deno.test("ask cycle fails fast with AskCycleError naming the chain", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await system(db, nats);
  const t0 = Date.now();
  await assert.rejects(
    () => sys.ref(counter, "a").ask("askOther", { to: "b" }, { timeoutMs: 8000 }),
    (err: Error) => {
      assert.ok(err instanceof RemoteHandlerError, String(err));
      assert.match(
        err.message,
        /AskCycleError|Ask cycle detected: counter\/a -> counter\/b -> counter\/a/,
      );
      return true;
    },
  );
  assert.ok(Date.now() - t0 < 4000, "the cycle was not detected fast");
  assert.ok(AskCycleError);
});

Deno.test("tell from a handler goes through the outbox exactly once", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await system(db, nats);
  for (let i = 0; i < 10; i++) await sys.ref(counter, "src").tell("forward", { to: "dst", by: 1 });
  await eventually(async () => (await sys.ref(counter, "dst").ask("get", null)).n === 10);
  await eventually(async () => {
    const { rows } = await db.pool.query("select count(*)::int n from rt_outbox");
    return rows[0].n === 0;
  }, { what: "outbox drained" });
});

Deno.test("a state row changed behind the runtime's back is reloaded and the turn retried", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await system(db, nats);
  const ref = sys.ref(counter, "v");
  assert.equal(await ref.ask("add", { by: 1 }), 1);
  // Someone bumps the row directly: the resident activation now holds a stale version.
  await db.pool.query(
    `update rt_actor_state set version = version + 1, state = jsonb_set(state, '{n}', '41')
     where actor_id = 'v'`,
  );
  assert.equal(await ref.ask("add", { by: 1 }), 42);
});

Deno.test("a joining node gets its share at once: the old owner hands partitions over", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  // Leases far longer than the test: only a graceful hand-over can move partitions in time.
  const opts = { leaseMs: 60_000, heartbeatMs: 200 };
  await using a = await system(db, nats, { ...opts, nodeId: "a" });
  assert.equal(a.ownedPartitions.length, 8);
  await a.ref(counter, "h").ask("add", { by: 1 });
  await using b = await system(db, nats, { ...opts, nodeId: "b" });
  await eventually(
    () => b.ownedPartitions.length > 0 && a.ownedPartitions.length + b.ownedPartitions.length === 8,
    {
      timeoutMs: 5000,
      what: "partitions shared",
    },
  );
  assert.equal(await b.ref(counter, "h").ask("add", { by: 1 }), 2);
  // And leaving hands them back just as fast.
  await b.stop();
  await eventually(() => a.ownedPartitions.length === 8, {
    timeoutMs: 5000,
    what: "a owns all again",
  });
});
