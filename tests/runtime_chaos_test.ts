/**
 * Chaos under load: three node processes while a client keeps telling; one is killed and
 * restarted, another frozen past its lease and thawed, a third drained and restarted. Afterwards
 * every acknowledged message must have been applied exactly once, in order, per actor.
 */
import assert from "node:assert/strict";
import { ActorSystem, jsonLogger } from "../runtime/mod.ts";
import { counter } from "../runtime/testdata/actors.ts";
import { eventually, sleep, testDb, testNats } from "./harness.ts";
import { type NodeProcess, startRuntimeNode } from "./cluster.ts";

Deno.test("chaos - kill, freeze and drain nodes under load: every acknowledged tell applied once, in order", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  const start = (nodeId: string) => startRuntimeNode({ nodeId, url: db.url, prefix: nats.prefix });
  const nodes: Record<string, NodeProcess> = {
    a: await start("a"),
    b: await start("b"),
    c: await start("c"),
  };
  await using client = await ActorSystem.start({
    pool: db.pool,
    nc: nats.nc,
    actors: [counter],
    nodeId: "client",
    prefix: nats.prefix,
    partitions: 16,
    host: false,
    adminService: false,
    log: jsonLogger("error"),
  });
  try {
    const actors = Array.from({ length: 12 }, (_, i) => `x${i}`);
    const acked = new Map<string, number[]>(actors.map((id) => [id, []]));
    let stop = false;
    const senders = actors.map(async (id) => {
      for (let i = 0; !stop; i++) {
        try {
          // The same id on a retry, as a careful client would send it.
          await client.ref(counter, id).tell("add", { by: 1, tag: i }, { msgId: `${id}:${i}` });
          acked.get(id)!.push(i);
        } catch {
          i--;
        }
        await sleep(15);
      }
    });
    await sleep(800);
    nodes.a!.signal("SIGKILL");
    await nodes.a!.exited;
    await sleep(600);
    nodes.a = await start("a");
    nodes.b!.signal("SIGSTOP");
    await sleep(3000); // past the 2 s lease: b's partitions move while it is frozen
    nodes.b!.signal("SIGCONT");
    await sleep(600);
    nodes.c!.signal("SIGTERM");
    assert.equal((await nodes.c!.exited).code, 0);
    nodes.c = await start("c");
    await sleep(1000);
    stop = true;
    await Promise.all(senders);

    for (const id of actors) {
      const tags = acked.get(id)!;
      assert.ok(tags.length > 20, `${id}: only ${tags.length} acknowledged`);
      const state = await eventually(async () => {
        const { rows } = await db.pool.query(
          "select state from rt_actor_state where actor_type = 'counter' and actor_id = $1",
          [id],
        );
        const s = rows[0]?.state;
        return s && s.log.length >= tags.length ? s : null;
      }, { timeoutMs: 30_000, what: `${id} caught up` });
      assert.deepEqual(state.log, tags, `${id}: applied differs from acknowledged`);
      assert.equal(state.n, tags.length);
      assert.equal(new Set(state.seen).size, state.seen.length, `${id}: a message applied twice`);
    }
  } finally {
    for (const n of Object.values(nodes)) await n[Symbol.asyncDispose]();
  }
});
