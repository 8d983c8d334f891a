import assert from "node:assert/strict";
import { AskCycleError, AskTimeoutError, RemoteHandlerError } from "./mod.ts";
import { startTestSystem as system } from "../tests/runtime_harness.ts";
import { eventually, sleep, testDb, testNats } from "../tests/harness.ts";
import { counter } from "./testdata/actors.ts";

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
  let slowDone = false;
  void slow.then(() => slowDone = true);
  await sys.ref(counter, "fast").ask("add", { by: 1 });
  assert.equal(slowDone, false, "the fast actor waited for the slow one");
  assert.equal(await slow, 1);
});

Deno.test("ActorClient.ask() rejects with AskTimeoutError when no node serves the actor", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await system(db, nats, { host: false });
  await assert.rejects(
    () => sys.ref(counter, "nobody").ask("add", { by: 1 }, { timeoutMs: 300 }),
    (err: Error) => {
      assert.ok(err instanceof AskTimeoutError, String(err));
      assert.equal(err.message, 'No reply from counter/nobody to "add" within 300 ms');
      return true;
    },
  );
});

Deno.test("ActorClient.ask() rejects with AskCycleError, before sending, when the target is on the chain", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await system(db, nats);
  await assert.rejects(
    () =>
      sys.client.ask({ type: "counter", id: "a" }, "get", null, {
        chain: ["counter/x", "counter/a"],
      }),
    (err: Error) => {
      assert.ok(err instanceof AskCycleError, String(err));
      assert.deepEqual(err.chain, ["counter/x", "counter/a", "counter/a"]);
      assert.equal(err.message, "Ask cycle detected: counter/x -> counter/a -> counter/a");
      return true;
    },
  );
});

Deno.test("an ask cycle between two actors fails fast, and the caller learns each hop's error", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await system(db, nats);
  // a asks b, b asks a: b's ask is refused with AskCycleError, which dead-letters b's turn and
  // comes back to a as a RemoteHandlerError, which dead-letters a's turn in turn.
  const cycle = "Ask cycle detected: counter/a -> counter/b -> counter/a";
  const fromB = `counter/b rejected the message: AskCycleError: ${cycle}`;
  await assert.rejects(
    () => sys.ref(counter, "a").ask("askOther", { to: "b" }, { timeoutMs: 8000 }),
    (err: Error) => {
      assert.ok(err instanceof RemoteHandlerError, String(err));
      assert.equal(err.target, "counter/a");
      assert.equal(err.remoteName, "RemoteHandlerError");
      assert.equal(err.remoteMessage, fromB);
      assert.equal(err.message, `counter/a rejected the message: RemoteHandlerError: ${fromB}`);
      return true;
    },
  );
  // Both turns were dead-lettered at once (terminal), not retried into the ask's timeout.
  const reasons = (await sys.deadLetters.list()).map((d) => d.reason).sort();
  assert.deepEqual(reasons, [`AskCycleError: ${cycle}`, `RemoteHandlerError: ${fromB}`]);
});

Deno.test("client.tellWithin() sends only if the caller's transaction commits", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await system(db, nats);
  const c = await db.pool.connect();
  try {
    // Rolled back: never sent.
    await c.query("begin");
    await sys.client.tellWithin(c, { type: "counter", id: "tx" }, "add", { by: 100 }, {
      msgId: "tx-1",
    });
    await c.query("rollback");
    // Committed and not published by the caller: the sweep sends it.
    await c.query("begin");
    await sys.client.tellWithin(c, { type: "counter", id: "tx" }, "add", { by: 1 }, {
      msgId: "tx-2",
    });
    await c.query("commit");
    // Committed and published at once; a retried call with the same id is not sent twice.
    await c.query("begin");
    const tell = await sys.tellWithin(c, { type: "counter", id: "tx" }, "add", { by: 10 }, {
      msgId: "tx-3",
    });
    await sys.tellWithin(c, { type: "counter", id: "tx" }, "add", { by: 10 }, { msgId: "tx-3" });
    await c.query("commit");
    assert.equal(tell.subject, sys.mailboxOf({ type: "counter", id: "tx" }).subject);
    await sys.publishOutbox([tell, tell]);
  } finally {
    c.release();
  }
  await eventually(async () => (await sys.ref(counter, "tx").ask("get", null)).n === 11, {
    timeoutMs: 8000,
  });
  await eventually(async () => {
    const { rows } = await db.pool.query("select count(*)::int n from rt_outbox");
    return rows[0].n === 0;
  }, { what: "outbox drained" });
  await sleep(500);
  assert.equal((await sys.ref(counter, "tx").ask("get", null)).n, 11);
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
    { timeoutMs: 5000, what: "partitions shared" },
  );
  assert.equal(await b.ref(counter, "h").ask("add", { by: 1 }), 2);
  // And leaving hands them back just as fast.
  await b.stop();
  await eventually(() => a.ownedPartitions.length === 8, {
    timeoutMs: 5000,
    what: "a owns all again",
  });
});

Deno.test("faults.crash stops a node as a crash would: its leases stay until they expire, then another node serves its actors", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  const crash = new AbortController();
  const opts = { leaseMs: 1500, heartbeatMs: 200 };
  await using a = await system(db, nats, { ...opts, nodeId: "a", faults: { crash: crash.signal } });
  assert.equal(await a.ref(counter, "c").ask("add", { by: 1 }), 1);
  crash.abort();
  assert.equal(a.ready, false);
  // Nothing was drained or released: every lease is still a's.
  const { rows } = await db.pool.query(
    "select count(*)::int n from rt_partitions where owner = $1",
    [a.instance],
  );
  assert.equal(rows[0].n, 8);
  // A message sent now waits in the mailbox for the next owner, who has the committed state.
  await using b = await system(db, nats, { ...opts, nodeId: "b" });
  assert.equal(await b.ref(counter, "c").ask("add", { by: 1 }, { timeoutMs: 10_000 }), 2);
  await eventually(() => b.ownedPartitions.length === 8, { what: "b owns every partition" });
});
