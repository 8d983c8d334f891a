import assert from "node:assert/strict";
import { loadConfig } from "./config.ts";
import { startNode } from "./node.ts";
import { NATS_URL, testDb, testNats } from "../tests/harness.ts";
import { jsonLogger } from "../runtime/mod.ts";
import { counter } from "../runtime/testdata/actors.ts";

Deno.test("startNode() serves health, readiness and Prometheus metrics", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    NATS_PREFIX: nats.prefix,
    PARTITIONS: "4",
    NODE_ID: "t1",
  });
  await using node = await startNode({
    config,
    databaseUrl: db.url,
    natsUrl: NATS_URL,
    actors: [counter],
    log: jsonLogger("error"),
  });
  const base = `http://127.0.0.1:${(node.server.addr as Deno.NetAddr).port}`;
  assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { status: "ok" });
  const ready = await fetch(`${base}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal((await ready.json()).partitions, 4);
  await node.system.ref(counter, "m").ask("add", { by: 1 });
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /coachd_actor_turns_total\{type="counter",outcome="ok",node="t1"\} 1/);
  assert.match(metrics, /coachd_actor_turn_seconds_bucket/);
  assert.match(metrics, /coachd_owned_partitions\{node="t1"\} 4/);
  await node.stop();
  // After the drain every lease is released.
  const { rows } = await db.pool.query(
    "select count(*)::int n from rt_partitions where owner is not null",
  );
  assert.equal(rows[0].n, 0);
});
