import assert from "node:assert/strict";
import { loadConfig } from "./config.ts";
import { startNode } from "./node.ts";
import { jsonLogger } from "../runtime/mod.ts";
import { freePort, NATS_URL, testDb, testNats } from "../tests/harness.ts";

async function node(env: Record<string, string>) {
  const db = await testDb();
  const nats = await testNats();
  const dataDir = await Deno.makeTempDir();
  const handle = await startNode({
    config: loadConfig({
      PORT: "0",
      HOST: "127.0.0.1",
      NATS_PREFIX: nats.prefix,
      PARTITIONS: "2",
      DATA_DIR: dataDir,
      ...env,
    }),
    databaseUrl: db.url,
    natsUrl: NATS_URL,
    log: jsonLogger("error"),
  });
  return {
    base: `http://127.0.0.1:${(handle.server.addr as Deno.NetAddr).port}`,
    async [Symbol.asyncDispose]() {
      await handle.stop();
      await nats[Symbol.asyncDispose]();
      await db[Symbol.asyncDispose]();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

const get = async (url: string, token?: string) => {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, text: await res.text(), headers: res.headers };
};

Deno.test("startNode() - /metrics needs METRICS_TOKEN when set; every node response is nosniff", async () => {
  const token = "scrape-token-0123456789";
  await using n = await node({ METRICS_TOKEN: token });
  assert.equal((await get(`${n.base}/metrics`)).status, 401);
  assert.equal((await get(`${n.base}/metrics`, "wrong-token-0123456789")).status, 401);
  const ok = await get(`${n.base}/metrics`, token);
  assert.equal(ok.status, 200);
  assert.match(ok.text, /^# HELP /m);
  const health = await get(`${n.base}/healthz`);
  assert.equal(health.headers.get("x-content-type-options"), "nosniff");
  assert.equal(ok.headers.get("x-content-type-options"), "nosniff");
});

Deno.test("startNode() - METRICS_PORT moves /metrics to its own listener", async () => {
  const port = freePort();
  await using n = await node({ METRICS_PORT: String(port) });
  assert.equal((await get(`${n.base}/metrics`)).status, 404);
  const scraped = await get(`http://127.0.0.1:${port}/metrics`);
  assert.equal(scraped.status, 200);
  assert.match(scraped.text, /^# HELP /m);
});
