/**
 * Chaos under load: three node processes while a client keeps telling; one is killed and
 * restarted, another frozen past its lease and thawed, a third drained and restarted. Afterwards
 * every acknowledged message must have been applied exactly once, in order, per actor.
 */
import assert from "node:assert/strict";
import { ActorSystem, jsonLogger } from "../runtime/mod.ts";
import { counter } from "../runtime/testdata/actors.ts";
import { sleep, testDb, testNats } from "./harness.ts";
import { assertAppliedExactlyOnce, startAckedLoad } from "./acked_load.ts";
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
    const load = startAckedLoad(client.client, actors, { pauseMs: 15 });
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
    await assertAppliedExactlyOnce(db.pool, await load.stop(), { minPerActor: 20 });
  } finally {
    for (const n of Object.values(nodes)) await n[Symbol.asyncDispose]();
  }
});
