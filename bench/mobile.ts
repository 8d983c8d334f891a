// deno-lint-ignore-file no-console -- entry point: talks to the terminal
/**
 * `deno task bench mobile`: the app backend on one in-process node. Latency of the app API's
 * authenticated reads (token lookup, per-person rate limit, one tenant query) and of a token
 * refresh, sequential, and the push fallback's fan-out to many devices of one person against
 * the FCM fake (one OAuth2 token shared, all devices at once).
 *   --calls N     requests per measured route [500]
 *   --devices N   FCM devices of the pushed person [200]
 */
import { parseArgs } from "node:util";
import { jsonLogger } from "../runtime/mod.ts";
import { SecretBox } from "../db/secrets.ts";
import { FcmSender } from "../channels/push/fcm.ts";
import { PushDispatcher } from "../channels/push/dispatch.ts";
import { PushTokenStore } from "../channels/push/store.ts";
import { startFakeFcm } from "../tests/fakes/fcm.ts";
import { nodeEnv } from "../tests/node_env.ts";
import { machineInfo } from "./procfs.ts";
import { summarize } from "./stats.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    calls: { type: "string", default: "500" },
    devices: { type: "string", default: "200" },
  },
});
const calls = Number(args.values.calls);
const devices = Number(args.values.devices);

const fmt = (s: ReturnType<typeof summarize>) =>
  `p50 ${s.p50.toFixed(1)} ms, p95 ${s.p95.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms (n=${s.n})`;

async function timed(n: number, fn: () => Promise<void>) {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return summarize(samples);
}

await using fcm = await startFakeFcm();
await using env = await nodeEnv({
  FCM_SERVICE_ACCOUNT: JSON.stringify(fcm.serviceAccount),
  FCM_API_URL: fcm.url,
  RATE_LIMIT_PER_KEY: "1000000",
  LOG_LEVEL: "error",
});
const { token } = await env.signup();
const app = await env.call("POST", "/v1/channels", {
  token,
  body: { kind: "mobile_app", name: "Bench app" },
});
const device = await env.call("POST", "/v1/app/devices", {
  body: { public_key: app.json.public_key },
});
const access = device.json.access_token as string;

const history = await timed(calls, async () => {
  const r = await env.call("GET", "/v1/app/messages?limit=25", { token: access });
  if (r.status !== 200) throw new Error(`history: ${r.status} ${r.text}`);
});
const badges = await timed(calls, async () => {
  const r = await env.call("GET", "/v1/app/badges", { token: access });
  if (r.status !== 200) throw new Error(`badges: ${r.status}`);
});
let refresh = device.json.refresh_token as string;
const refreshed = await timed(Math.min(calls, 200), async () => {
  const r = await env.call("POST", "/v1/app/tokens/refresh", { body: { refresh_token: refresh } });
  if (r.status !== 200) throw new Error(`refresh: ${r.status}`);
  refresh = r.json.refresh_token;
});

// The push fallback: one person, many devices, all sent at once.
const { rows: [who] } = await env.db.pool.query<{ creator_id: string; id: string }>(
  "select creator_id, id from end_users limit 1",
);
const store = new PushTokenStore(
  env.db.pool,
  new SecretBox(crypto.getRandomValues(new Uint8Array(32))),
);
for (let i = 0; i < devices; i++) {
  await store.register(who!.creator_id, {
    endUserId: who!.id,
    provider: "fcm",
    token: fcm.addDevice(),
    hint: "",
  });
}
const push = new PushDispatcher({
  store,
  senders: [
    new FcmSender({
      project_id: fcm.projectId,
      client_email: fcm.serviceAccount.client_email!,
      private_key: fcm.serviceAccount.private_key!,
      token_uri: fcm.serviceAccount.token_uri!,
    }, { apiUrl: fcm.url }),
  ],
  log: jsonLogger("error"),
});
const fanout = await timed(5, async () => {
  const out = await push.notify(who!.creator_id, who!.id, { title: "Bench", body: "hello" });
  if (out.sent !== devices) throw new Error(`pushed ${out.sent} of ${devices}`);
});

const m = machineInfo();
console.log(`machine: ${m.nproc} cores ${m.cpuModel}, load ${m.loadAvg} (shared)`);
console.log(`GET /v1/app/messages (25 a page): ${fmt(history)}`);
console.log(`GET /v1/app/badges: ${fmt(badges)}`);
console.log(`POST /v1/app/tokens/refresh: ${fmt(refreshed)}`);
console.log(
  `push to ${devices} FCM devices of one person: ${
    fmt(fanout)
  }; OAuth2 tokens fetched: ${fcm.tokensIssued}`,
);
