import assert from "node:assert/strict";
import { testDb, testNats } from "../tests/harness.ts";
import { counter } from "./testdata/actors.ts";
import { startTestSystem } from "../tests/runtime_harness.ts";

async function req(
  nc: import("@nats-io/transport-node").NatsConnection,
  subject: string,
  body?: unknown,
) {
  const m = await nc.request(subject, body === undefined ? "" : JSON.stringify(body), {
    timeout: 3000,
  });
  return {
    json: m.data.length ? JSON.parse(new TextDecoder().decode(m.data)) : null,
    headers: m.headers,
  };
}

Deno.test("admin service - answers nats micro discovery and the operator endpoints", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using sys = await startTestSystem(db, nats, { maxDeliver: 1 });
  const p = nats.prefix;
  // What `nats micro ls` / `nats micro info` send.
  const info = (await req(nats.nc, `$SRV.INFO.${p}-admin`)).json;
  assert.equal(info.name, `${p}-admin`);
  assert.deepEqual(
    info.endpoints.map((e: { subject: string }) => e.subject).sort(),
    ["actor", "dead.list", "dead.replay", "nodes", "partitions", "rebalance"].map((s) =>
      `${p}.admin.${s}`
    ).sort(),
  );
  // `nats micro ls` pings, `nats micro stats` asks for per-endpoint statistics.
  assert.equal((await req(nats.nc, `$SRV.PING.${p}-admin`)).json.name, `${p}-admin`);
  const nodes = (await req(nats.nc, `${p}.admin.nodes`)).json.nodes;
  assert.equal(nodes.length, 1);
  assert.equal(nodes[0].partitions, 8);
  const parts = (await req(nats.nc, `${p}.admin.partitions`)).json.partitions;
  assert.equal(parts.length, 8);
  assert.ok(parts.every((x: { owner: string }) => x.owner === "n1"));

  await sys.ref(counter, "k").ask("remindMe", { name: "later", after: 60_000 });
  await sys.ref(counter, "k").ask("add", { by: 4 });
  const actor = (await req(nats.nc, `${p}.admin.actor`, { type: "counter", id: "k" })).json;
  assert.equal(actor.state.state.n, 4);
  assert.equal(actor.reminders[0].name, "later");

  await sys.ref(counter, "k").tell("poison", "x");
  let dead;
  for (let i = 0; i < 50 && !dead?.length; i++) {
    dead = (await req(nats.nc, `${p}.admin.dead.list`, {})).json.deadLetters;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(dead.length, 1);
  const replay = (await req(nats.nc, `${p}.admin.dead.replay`, { seq: dead[0].seq })).json;
  assert.equal(replay.replayed, dead[0].seq);

  const bad = await req(nats.nc, `${p}.admin.actor`, { type: 7 });
  assert.equal(bad.headers?.get("Nats-Service-Error-Code"), "400");
  assert.match(bad.headers?.get("Nats-Service-Error") ?? "", /type: /);
  assert.deepEqual((await req(nats.nc, `${p}.admin.rebalance`)).json, { ok: true });
  const stats = (await req(nats.nc, `$SRV.STATS.${p}-admin`)).json;
  const byName = Object.fromEntries(
    stats.endpoints.map((
      e: { name: string; num_requests: number; num_errors: number },
    ) => [e.name, e]),
  );
  assert.equal(byName["nodes"].num_requests, 1);
  assert.equal(byName["actor"].num_requests, 2);
});
