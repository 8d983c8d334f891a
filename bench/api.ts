// deno-lint-ignore-file no-console -- entry point: prints the figures
/**
 * Admin API benchmark: authenticated GET and POST throughput and latency percentiles over real
 * HTTP, against Postgres and NATS on loopback (a fresh schema and stream prefix, dropped after).
 *
 *   deno task bench:api [--seconds=5] [--concurrency=16]
 */
import { parseArgs } from "node:util";
import { testApi } from "../tests/api_harness.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "5" },
    concurrency: { type: "string", default: "16" },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);

// Response validation is a test aid; the benchmark measures the API as deployed.
await using t = await testApi({ validateResponses: false });
const owner = await t.signup();
const key = await t.apiKey(owner, "editor");
// Something to list: a page of 25 out of 100.
for (let i = 0; i < 100; i++) {
  await (await t.call("POST", "/knowledge-bases", {
    token: owner.token,
    json: { name: `kb ${i}` },
  }))
    .body?.cancel();
}
const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, t.root.fetch);
const base = `http://127.0.0.1:${server.addr.port}/v1`;

interface Result {
  name: string;
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
}

async function run(name: string, request: (i: number) => Promise<Response>, expect: number) {
  const latencies: number[] = [];
  let errors = 0;
  let n = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const res = await request(n++);
      await res.arrayBuffer();
      latencies.push(performance.now() - t0);
      if (res.status !== expect) errors++;
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!;
  return {
    name,
    requests: latencies.length,
    errors,
    rps: latencies.length / elapsed,
    p50: pct(0.5),
    p99: pct(0.99),
  } satisfies Result;
}

const auth = { authorization: `Bearer ${key}` };
const jwt = { authorization: `Bearer ${owner.token}` };
const results: Result[] = [];
// Warm-up: connections, JIT, Postgres plans.
await run("warmup", () => fetch(`${base}/knowledge-bases?limit=25`, { headers: auth }), 200);
results.push(
  await run(
    "GET /v1/knowledge-bases (API key)",
    () => fetch(`${base}/knowledge-bases?limit=25`, { headers: auth }),
    200,
  ),
);
results.push(
  await run(
    "GET /v1/knowledge-bases (JWT)",
    () => fetch(`${base}/knowledge-bases?limit=25`, { headers: jwt }),
    200,
  ),
);
results.push(
  await run(
    "POST /v1/badges (API key)",
    (i) =>
      fetch(`${base}/badges`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ name: `badge ${i}`, criteria: "streak_days >= 7 and sessions > 2" }),
      }),
    201,
  ),
);
results.push(
  await run(
    "POST /v1/knowledge-bases + Idempotency-Key (JWT)",
    (i) =>
      fetch(`${base}/knowledge-bases`, {
        method: "POST",
        headers: { ...jwt, "content-type": "application/json", "idempotency-key": `k-${i}` },
        body: JSON.stringify({ name: `bench ${i}` }),
      }),
    201,
  ),
);
await server.shutdown();

console.log(
  `admin API, ${concurrency} concurrent clients, ${seconds} s each, over HTTP on loopback`,
);
for (const r of results) {
  console.log(
    `${r.name.padEnd(48)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${
      r.p50.toFixed(1).padStart(6)
    } ms  p99 ${r.p99.toFixed(1).padStart(6)} ms  (${r.requests} requests, ${r.errors} errors)`,
  );
}
