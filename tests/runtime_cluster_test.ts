/**
 * Cluster behaviour with real node processes: failover after SIGKILL, zombie fencing after
 * SIGSTOP, graceful drain, rebalancing on join, and reminders surviving a full restart.
 */
import assert from "node:assert/strict";
import type pg from "pg";
import { ActorSystem, jsonLogger } from "../runtime/mod.ts";
import { counter } from "../runtime/testdata/actors.ts";
import { eventually, sleep, testDb, testNats } from "./harness.ts";
import { startRuntimeNode } from "./cluster.ts";

const quiet = jsonLogger("error");

async function clientFor(db: { pool: pg.Pool }, nats: Awaited<ReturnType<typeof testNats>>) {
  return await ActorSystem.start({
    pool: db.pool,
    nc: nats.nc,
    actors: [counter],
    nodeId: "client",
    prefix: nats.prefix,
    partitions: 16,
    host: false,
    adminService: false,
    log: quiet,
  });
}

interface Row {
  actor_id: string;
  version: string;
  state: { n: number; seen: string[]; log: number[] };
}

async function states(pool: pg.Pool): Promise<Map<string, Row>> {
  const { rows } = await pool.query<Row>(
    "select actor_id, version, state from rt_actor_state where actor_type = 'counter'",
  );
  return new Map(rows.map((r) => [r.actor_id, r]));
}

async function ownerOf(pool: pg.Pool, partition: number): Promise<string | undefined> {
  const { rows } = await pool.query(
    `select n.node_id from rt_partitions p join rt_nodes n on n.instance = p.owner
     where p.partition = $1 and p.lease_until > now()`,
    [partition],
  );
  return rows[0]?.node_id;
}

/** Sends `perActor` tagged messages to each actor, in order per actor, with some pacing. */
async function sendLoad(client: ActorSystem, actors: string[], perActor: number, pauseMs = 5) {
  for (let i = 0; i < perActor; i++) {
    await Promise.all(actors.map((id) => client.ref(counter, id).tell("add", { by: 1, tag: i })));
    if (pauseMs) await sleep(pauseMs);
  }
}

function assertExactlyOnce(all: Map<string, Row>, actors: string[], perActor: number) {
  for (const id of actors) {
    const row = all.get(id);
    assert.ok(row, `actor ${id} has no state`);
    assert.equal(row.state.n, perActor, `actor ${id}: n=${row.state.n}, expected ${perActor}`);
    assert.equal(new Set(row.state.seen).size, perActor, `actor ${id} applied a message twice`);
    assert.deepEqual(
      row.state.log,
      Array.from({ length: perActor }, (_, i) => i),
      `actor ${id} out of order`,
    );
  }
}

Deno.test("failover - SIGKILL of one node among three moves its partitions; every message applied exactly once", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using a = await startRuntimeNode({ nodeId: "a", url: db.url, prefix: nats.prefix });
  await using b = await startRuntimeNode({ nodeId: "b", url: db.url, prefix: nats.prefix });
  await using c = await startRuntimeNode({ nodeId: "c", url: db.url, prefix: nats.prefix });
  await using client = await clientFor(db, nats);
  await eventually(async () => (await ownerOf(db.pool, 0)) !== undefined, {
    what: "partitions owned",
  });
  const actors = Array.from({ length: 24 }, (_, i) => `k${i}`);
  let sent = 0;
  const load = (async () => {
    for (let i = 0; i < 100; i++) {
      await Promise.all(actors.map((id) => client.ref(counter, id).tell("add", { by: 1, tag: i })));
      sent = i + 1;
      await sleep(20);
    }
  })();
  await eventually(() => sent >= 20, { what: "load under way" });
  b.signal("SIGKILL");
  const sentAtKill = sent;
  await load;
  assert.ok(sentAtKill < 80, `the kill came too late in the load (${sentAtKill} of 100 rounds)`);
  const all = await eventually(async () => {
    const s = await states(db.pool);
    return actors.every((id) => s.get(id)?.state.n === 100) ? s : null;
  }, { timeoutMs: 30_000, what: "all messages applied" });
  assertExactlyOnce(all, actors, 100);
  // The dead node owns nothing now: its partitions moved to a and c.
  const { rows } = await db.pool.query(
    `select count(*)::int n from rt_partitions p join rt_nodes n on n.instance = p.owner
     where n.node_id = 'b' and p.lease_until > now()`,
  );
  assert.equal(rows[0].n, 0);
  void a;
  void c;
});

Deno.test("zombie - a node frozen past its lease cannot commit; the new owner's state wins", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using a = await startRuntimeNode({ nodeId: "a", url: db.url, prefix: nats.prefix });
  await using b = await startRuntimeNode({ nodeId: "b", url: db.url, prefix: nats.prefix });
  await using client = await clientFor(db, nats);
  const nodes = { a, b };
  // Find an actor whose partition is owned by a node, once ownership has settled.
  await sleep(1500);
  let target = "";
  let owner: "a" | "b" = "a";
  for (let i = 0; !target; i++) {
    const o = await ownerOf(db.pool, client.mailboxOf({ type: "counter", id: `z${i}` }).partition);
    if (o === "a" || o === "b") {
      target = `z${i}`;
      owner = o;
    }
  }
  const zombie = nodes[owner];
  // A turn that takes 2.5 s starts on the owner, which is then frozen mid-turn.
  await client.ref(counter, target).tell("slow", 2500);
  await sleep(300);
  zombie.signal("SIGSTOP");
  // The other node takes over after the lease (2 s) expires and runs the redelivered message.
  const after = await eventually(async () => {
    const row = (await states(db.pool)).get(target);
    return row && row.state.n === 1 ? row : null;
  }, { timeoutMs: 20_000, what: "new owner applied the message" });
  assert.equal(Number(after.version), 1);
  zombie.signal("SIGCONT");
  // The zombie finishes its turn now; its commit must be refused.
  await sleep(3500);
  const row = (await states(db.pool)).get(target)!;
  assert.equal(row.state.n, 1, "the zombie's commit went through");
  assert.equal(Number(row.version), 1);
  assert.equal(await client.ref(counter, target).ask("add", { by: 10 }), 11);
});

Deno.test("drain - SIGTERM hands partitions over with no loss, and a joining node gets a share", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using a = await startRuntimeNode({ nodeId: "a", url: db.url, prefix: nats.prefix });
  await using client = await clientFor(db, nats);
  await eventually(async () => {
    const { rows } = await db.pool.query(
      "select count(*)::int n from rt_partitions where owner is not null and lease_until > now()",
    );
    return rows[0].n === 16;
  }, { what: "node a owns every partition" });
  const actors = Array.from({ length: 16 }, (_, i) => `d${i}`);
  const load = sendLoad(client, actors, 80);
  await sleep(300);
  // Rebalance on join: b starts, a hands some partitions over while the load runs.
  await using b = await startRuntimeNode({ nodeId: "b", url: db.url, prefix: nats.prefix });
  await eventually(async () => {
    const { rows } = await db.pool.query(
      `select n.node_id, count(*)::int c from rt_partitions p join rt_nodes n on n.instance = p.owner
       where p.lease_until > now() group by n.node_id`,
    );
    const by = Object.fromEntries(rows.map((r) => [r.node_id, r.c]));
    return by.a > 0 && by.b > 0 && by.a + by.b === 16;
  }, { timeoutMs: 15_000, what: "partitions shared between a and b" });
  // Drain: a leaves gracefully while the load still runs; b takes everything.
  a.signal("SIGTERM");
  const status = await a.exited;
  assert.equal(status.code, 0);
  await load;
  const all = await eventually(async () => {
    const s = await states(db.pool);
    return actors.every((id) => s.get(id)?.state.n === 80) ? s : null;
  }, { timeoutMs: 30_000, what: "all messages applied" });
  assertExactlyOnce(all, actors, 80);
  void b;
});

Deno.test("reminders survive a restart of every node and fire once; periodic ones keep their period", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using client = await clientFor(db, nats);
  {
    await using a = await startRuntimeNode({ nodeId: "a", url: db.url, prefix: nats.prefix });
    await using b = await startRuntimeNode({ nodeId: "b", url: db.url, prefix: nats.prefix });
    for (let i = 0; i < 10; i++) {
      await client.ref(counter, `r${i}`).ask("remindMe", { name: "once", after: 3000 });
    }
    await client.ref(counter, "p").ask("remindMe", { name: "beat", after: 2500, every: 700 });
    a.signal("SIGTERM");
    b.signal("SIGTERM");
    await a.exited;
    await b.exited;
  }
  // Every node is down when the reminders fall due.
  await sleep(3500);
  await using a2 = await startRuntimeNode({ nodeId: "a", url: db.url, prefix: nats.prefix });
  await using b2 = await startRuntimeNode({ nodeId: "b", url: db.url, prefix: nats.prefix });
  const all = await eventually(async () => {
    const s = await states(db.pool);
    const fired = Array.from({ length: 10 }, (_, i) => s.get(`r${i}`)?.state.n ?? 0);
    return fired.every((n) => n >= 1) && (s.get("p")?.state.n ?? 0) >= 4 ? s : null;
  }, { timeoutMs: 20_000, what: "reminders fired" });
  await sleep(1000);
  const final = await states(db.pool);
  for (let i = 0; i < 10; i++) {
    assert.equal(final.get(`r${i}`)!.state.n, 1, `one-shot reminder r${i} fired more than once`);
  }
  const dues = final.get("p")!.state.seen.map((s) => Number(s.split(":")[2]));
  assert.ok(dues.length >= 4);
  // Ticks missed while every node was down are coalesced into one; the phase is kept, and from
  // then on the reminder fires every period.
  for (let i = 1; i < dues.length; i++) {
    const gap = dues[i]! - dues[i - 1]!;
    assert.ok(gap > 0 && gap % 700 === 0, `period broken: ${dues}`);
    if (i >= 2) assert.equal(gap, 700, `period broken: ${dues}`);
  }
  const { rows } = await db.pool.query(
    "select count(*)::int n from rt_reminders where name = 'once'",
  );
  assert.equal(rows[0].n, 0);
  void all;
  void a2;
  void b2;
});
