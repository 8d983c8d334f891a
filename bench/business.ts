// deno-lint-ignore-file no-console -- entry point: talks to the terminal
/**
 * `deno task bench business`: what the business features cost on the hot paths. The intake
 * gate's per-message count (`admitMessage`, one upsert), the admin API's limit check
 * (`check`), and the webhook dispatcher's throughput to a loopback receiver.
 */
import { jsonLogger } from "../runtime/mod.ts";
import { withSystem } from "../db/tenant.ts";
import { SecretBox } from "../db/secrets.ts";
import {
  createBusiness,
  newWebhookSecret,
  sealSecret,
  WebhookDispatcher,
} from "../business/mod.ts";
import { testDb } from "../tests/harness.ts";
import { machineInfo } from "./procfs.ts";

const N = Number(Deno.args[0] ?? 2000);
const DELIVERIES = Number(Deno.args[1] ?? 1000);
await using db = await testDb({ max: 20 });
const key = crypto.getRandomValues(new Uint8Array(32));
const business = createBusiness({
  pool: db.pool,
  log: jsonLogger("error"),
  secretsKey: key,
  settings: { appUrl: "http://localhost" },
});
const creatorId = await withSystem(db.pool, async (c) =>
  (await c.query<{ id: string }>(
    "insert into creators (email, name) values ('bench@example.test', 'Bench') returning id",
  )).rows[0]!.id);

const pct = (xs: number[], p: number) => xs.sort((a, b) => a - b)[Math.floor(xs.length * p)]!;
async function timeEach(label: string, fn: () => Promise<unknown>, n: number, concurrency = 16) {
  const times: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < n) {
      const t = performance.now();
      await fn();
      times.push(performance.now() - t);
    }
  }));
  const s = (performance.now() - start) / 1000;
  console.log(
    `${label}: ${n} in ${s.toFixed(2)} s = ${(n / s).toFixed(0)}/s, p50 ${
      pct(times, 0.5).toFixed(2)
    } ms, p99 ${pct(times, 0.99).toFixed(2)} ms (concurrency ${concurrency})`,
  );
}

// On the business plan, so the measured messages are admitted (refusals take the slower path).
await withSystem(db.pool, (c) =>
  c.query(
    "insert into creator_billing (creator_id, plan, status) values ($1, 'business', 'active')",
    [creatorId],
  ));
console.log(JSON.stringify(machineInfo()));
await timeEach("intake gate admitMessage", () => business.limits.admitMessage(creatorId), N, 1);
// One creator's messages all update one counter row: concurrent ones wait for each other.
await timeEach("intake gate admitMessage", () => business.limits.admitMessage(creatorId), N);
await timeEach("API limit check", () => business.limits.check(creatorId, "knowledge_bases"), N, 1);

let received = 0;
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
  await req.body?.cancel();
  received++;
  return new Response("ok");
});
const endpointId = crypto.randomUUID();
const sealed = await sealSecret(new SecretBox(key), creatorId, endpointId, newWebhookSecret());
await withSystem(db.pool, async (c) => {
  await c.query(
    `insert into webhook_endpoints (id, creator_id, url, event_types, secret_iv, secret_ciphertext)
     values ($1, $2, $3, '{badge.earned}', $4, $5)`,
    [endpointId, creatorId, `http://127.0.0.1:${server.addr.port}/`, sealed.iv, sealed.ciphertext],
  );
  await c.query(
    `insert into webhook_deliveries (creator_id, endpoint_id, message_id, event_id, event_type,
       payload, next_attempt_at)
     select $1, $2, 'msg_' || g, 'e' || g, 'badge.earned', '{"type":"badge.earned"}', now()
       from generate_series(1, $3) g`,
    [creatorId, endpointId, DELIVERIES],
  );
});
const dispatcher = new WebhookDispatcher({
  pool: db.pool,
  box: new SecretBox(key),
  log: jsonLogger("error"),
  allowPrivate: true,
});
const t0 = performance.now();
const sent = await dispatcher.deliverDue();
const s = (performance.now() - t0) / 1000;
console.log(
  `webhook dispatcher: ${sent} deliveries (${received} received) in ${s.toFixed(2)} s = ${
    (sent / s).toFixed(0)
  }/s, batches of 20, one node`,
);
await server.shutdown();
