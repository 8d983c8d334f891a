// deno-lint-ignore-file no-console -- entry point: talks to the terminal
/**
 * `deno task bench channels`: one node process (`main.ts`) with a Telegram bot connected to the
 * fake Bot API in this process, measured three ways:
 *
 * 1. webhook intake: wrk POSTs Telegram updates (existing and new people) for `--intake-seconds`;
 *    requests/s and latency from request to 2xx (the durable hand-over, not the answer);
 * 2. end to end: `--conversations` people, spread over `--bots` bots of the creator, each send
 *    a message, wait for the coach's `sendMessage` to reach the fake and read it (at least 1 s,
 *    then an exponential pause of mean `--think-ms`), `--rounds` times; latency from webhook to
 *    that arrival;
 * 3. pacing: `--burst` people each send one message at once; the fake enforces Telegram's flood
 *    limits and reports the busiest second of the bot's sends and any 429.
 *
 * Environment: DATABASE_URL, NATS_URL, CHROMA_URL (else the tests' Chroma, else one is started).
 */
import { parseArgs } from "node:util";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { encodeBase64 } from "../runtime/base64.ts";
import { startLocalChroma } from "../app/infra/chroma.ts";
import { startFakeTelegram } from "../tests/fakes/telegram.ts";
import { signUpCreator, startNodeProcess } from "../tests/node_process.ts";
import { machineInfo } from "./procfs.ts";
import { summarize } from "./stats.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    "intake-seconds": { type: "string", default: "10" },
    "intake-connections": { type: "string", default: "32" },
    people: { type: "string", default: "1000" },
    conversations: { type: "string", default: "200" },
    rounds: { type: "string", default: "3" },
    burst: { type: "string", default: "1000" },
    "debounce-ms": { type: "string", default: "0" },
    "think-ms": { type: "string", default: "10000" },
    /** Bots the conversations are spread over (each paced at Telegram's per-bot limit). */
    bots: { type: "string", default: "4" },
    /** Starts the http node with the V8 inspector on this port (to profile the intake). */
    "inspect-gateway": { type: "string" },
    /** The same for the node that hosts the actors. */
    "inspect-worker": { type: "string" },
    /** Keep the schema afterwards (to study the stored timings). */
    keep: { type: "boolean", default: false },
  },
});
const opt = (k: keyof typeof args.values) => Number(args.values[k]);
const VECTORS = fileURLToPath(new URL("../.data/vectors", import.meta.url));
const GUIDE = `# Sleep guide

## Caffeine
Caffeine has a half-life of five to six hours. Stop drinking coffee by 2 pm so it does not keep
you awake at night.

## Naps
Keep naps short: twenty minutes at most, and before 3 pm.
`;

const databaseUrl = Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/test";
const natsUrl = Deno.env.get("NATS_URL") ?? "nats://127.0.0.1:4222";
await using stack = new AsyncDisposableStack();
const chromaUrl = Deno.env.get("CHROMA_URL") ?? await chroma();
const schema = `bench_ch_${crypto.randomUUID().slice(0, 8)}`;
const admin = new pg.Client({ connectionString: databaseUrl });
await admin.connect();
await admin.query(`create schema ${schema}`);
stack.defer(async () => {
  if (args.values.keep) console.log(`schema kept: ${schema}`);
  else await admin.query(`drop schema ${schema} cascade`);
  await admin.end();
});
const url = new URL(databaseUrl);
url.searchParams.set("options", `-c search_path=${schema}`);

// Arrivals of the coach's messages, by chat, for the end-to-end timings.
const waiting = new Map<number, () => void>();
const tg = stack.use(startFakeTelegram({
  onRequest: (r) => {
    if (r.method !== "sendMessage") return;
    const chat = Number(r.params.chat_id);
    waiting.get(chat)?.();
    waiting.delete(chat);
  },
}));
const mailDir = await Deno.makeTempDir({ prefix: "coachd-bench-mail-" });
const prefix = `bench${crypto.randomUUID().slice(0, 6)}`;
const jwt = encodeBase64(crypto.getRandomValues(new Uint8Array(48)));
const secretsKey = encodeBase64(crypto.getRandomValues(new Uint8Array(32)));
/** A node process (`main.ts`) of the benchmark's cluster; `roles` as NODE_ROLES. */
async function startNode(nodeId: string, roles: string, flags: string[] = []) {
  const node = await startNodeProcess((port) => ({
    DATABASE_URL: url.toString(),
    NATS_URL: natsUrl,
    CHROMA_URL: chromaUrl,
    NATS_PREFIX: prefix,
    NODE_ID: nodeId,
    NODE_ROLES: roles,
    DATA_DIR: dirname(VECTORS),
    JWT_SECRET: jwt,
    SECRETS_KEY: secretsKey,
    MAIL_DROP_DIR: mailDir,
    TELEGRAM_API_URL: tg.url,
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    INBOUND_DEBOUNCE_MS: String(opt("debounce-ms")),
    LOG_LEVEL: "warn",
    // No rate limit in the way of the load generator.
    RATE_LIMIT_PER_IP: "100000000",
  }), { flags });
  stack.defer(() => node.stop());
  return node;
}
const worker = await startNode(
  "bench",
  "http,actors,workers",
  args.values["inspect-worker"] ? [`--inspect=127.0.0.1:${args.values["inspect-worker"]}`] : [],
);
const base = worker.url;
const creator = await signUpCreator(base, mailDir, "bench@example.test");
await creator.knowledge(GUIDE);
/** The creator's bots: each is its own channel connection, paced on its own. */
const bots: { bot: typeof tg.bot; hookPath: string; secret: string }[] = [];
for (let i = 0; i < opt("bots"); i++) {
  const bot = i === 0
    ? tg.bot
    : tg.addBot({ token: `70000000${10 + i}:AABenchBot${i}`, username: `bench_${i}_bot` });
  const channel = await creator.call("POST", "/channels", {
    kind: "telegram",
    name: `Bench bot ${i}`,
    bot_token: bot.token,
  });
  bots.push({ bot, hookPath: `/hooks/telegram/${channel.id}`, secret: bot.webhook!.secretToken! });
}
const hookPath = bots[0]!.hookPath;
const hook = `${base}${hookPath}`;
const secret = bots[0]!.secret;
const machine = await machineInfo();
console.log(`machine: ${JSON.stringify(machine)}`);

const people = Array.from({ length: opt("people") }, (_, i) => tg.addUser({ first_name: `P${i}` }));
for (const p of people) for (const b of bots) b.bot.privateChat(p);

// 1. End to end: conversations in progress, each person reading the answer before writing again.
const convs = people.slice(0, opt("conversations"));
const latencies: number[] = [];
let seq = 10_000_000;
await Promise.all(convs.map(async (p, i) => {
  // Spread the first messages over one pause, as people do not all write at once.
  await sleep(Math.random() * opt("think-ms"));
  for (let round = 0; round < opt("rounds"); round++) {
    const arrived = new Promise<void>((resolve) => waiting.set(p.id, resolve));
    const t0 = performance.now();
    await post(
      p.id,
      ++seq * 1000 + i,
      "When should I stop drinking coffee?",
      bots[i % bots.length],
    );
    await arrived;
    latencies.push(performance.now() - t0);
    // At least a second of reading (Telegram paces one chat at a message a second), then a pause
    // drawn from an exponential distribution with the given mean.
    await sleep(1000 + -Math.log(1 - Math.random()) * Math.max(0, opt("think-ms") - 1000));
  }
}));
const e2e = summarize(latencies);
console.log(
  `end to end (${convs.length} conversations over ${bots.length} bots × ${opt("rounds")}, ` +
    `think ${opt("think-ms")} ms): ` +
    `p50 ${e2e.p50.toFixed(0)} / p99 ${e2e.p99.toFixed(0)} ms (debounce ${opt("debounce-ms")} ms)`,
);

// 2. Pacing: a burst of first messages from new people through one bot.
const burst = Array.from({ length: opt("burst") }, (_, i) => tg.addUser({ first_name: `B${i}` }));
for (const p of burst) tg.bot.privateChat(p);
const before = tg.requests.length;
await Promise.all(burst.map((p, i) => post(p.id, 1 + i, "How long should naps be?")));
await until(() => burst.every((p) => tg.bot.sentMessages(p.id).length >= 1), 300_000);
const sends = tg.requests.slice(before).filter((r) => r.method === "sendMessage");
const limited = sends.filter((r) => r.status === 429).length;
console.log(
  `pacing: ${burst.length} people answered; busiest second of the bot ${
    tg.bot.maxRate({ methods: ["sendMessage"] })
  } sends (limit 30), 429 answers ${limited}`,
);

// 3. Intake: webhooks in as fast as wrk sends them, first on the node that also answers them
// (it does), then alone on a node with the http role only, the answering node stopped, so the
// figure is the durable hand-over by itself.
const intakeAll = await wrkIntake(hook, 1);
console.log(
  `intake, all roles (answering too): ${intakeAll.rps.toFixed(0)} requests/s, p50 ` +
    `${intakeAll.p50.toFixed(1)} / p99 ${intakeAll.p99.toFixed(1)} ms, non-2xx ${intakeAll.non2xx}`,
);
await worker.stop();
const inspect = args.values["inspect-gateway"];
const gateway = await startNode(
  "gateway",
  "http",
  inspect ? [`--inspect=127.0.0.1:${inspect}`] : [],
);
const intakeHttp = await wrkIntake(`${gateway.url}${hookPath}`, 0);
console.log(
  `intake, http node: ${intakeHttp.rps.toFixed(0)} requests/s over ${opt("intake-seconds")} s, ` +
    `p50 ${intakeHttp.p50.toFixed(1)} / p99 ${
      intakeHttp.p99.toFixed(1)
    } ms, non-2xx ${intakeHttp.non2xx}`,
);
console.log(JSON.stringify({
  intake_http_rps: Math.round(intakeHttp.rps),
  intake_http_p99_ms: intakeHttp.p99,
  intake_all_rps: Math.round(intakeAll.rps),
  intake_all_p99_ms: intakeAll.p99,
  e2e_p50_ms: Math.round(e2e.p50),
  e2e_p99_ms: Math.round(e2e.p99),
  burst_delivered: burst.filter((p) => tg.bot.sentMessages(p.id).length >= 1).length,
  burst_max_per_second: tg.bot.maxRate({ methods: ["sendMessage"] }),
  burst_429: limited,
}));
await Deno.remove(mailDir, { recursive: true });

async function post(
  chat: number,
  messageId: number,
  text: string,
  via: { hookPath: string; secret: string } = bots[0]!,
) {
  const res = await fetch(`${base}${via.hookPath}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-telegram-bot-api-secret-token": via.secret,
    },
    body: JSON.stringify({
      update_id: messageId,
      message: {
        message_id: messageId,
        date: Math.floor(Date.now() / 1000),
        chat: { id: chat, type: "private", first_name: "P" },
        from: { id: chat, is_bot: false, first_name: "P" },
        text,
      },
    }),
  });
  await res.body?.cancel();
  if (!res.ok) throw new Error(`webhook answered ${res.status}`);
}

async function wrkIntake(target: string, run: number) {
  const first = people[0]!.id;
  const script = await Deno.makeTempFile({ suffix: ".lua" });
  await Deno.writeTextFile(
    script,
    `
local n = 0
local tid = 0
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
request = function()
  n = n + 1
  local chat = ${first} + ((tid * 7919 + n) % ${people.length})
  local id = ${20_000_000 + run * 100_000_000} + tid * 10000000 + n
  local body = '{"update_id":' .. id .. ',"message":{"message_id":' .. id ..
    ',"date":1,"chat":{"id":' .. chat .. ',"type":"private","first_name":"P"},' ..
    '"from":{"id":' .. chat .. ',"is_bot":false,"first_name":"P"},"text":"What about naps?"}}'
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json",
    ["X-Telegram-Bot-Api-Secret-Token"] = "${secret}" }, body)
end
done = function(summary, latency, requests)
  io.write(string.format('WRK {"requests":%d,"duration_us":%d,"non2xx":%d,"p50":%f,"p99":%f}\\n',
    summary.requests, summary.duration, summary.errors.status, latency:percentile(50),
    latency:percentile(99)))
end
`,
  );
  const out = await new Deno.Command("wrk", {
    args: [
      "-t2",
      `-c${opt("intake-connections")}`,
      `-d${opt("intake-seconds")}s`,
      "--latency",
      "-s",
      script,
      target,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const line = new TextDecoder().decode(out.stdout).split("\n").find((l) => l.startsWith("WRK "));
  if (!line) throw new Error("wrk printed no result (is wrk installed? apt-get install wrk)");
  const r = JSON.parse(line.slice(4));
  return {
    rps: r.requests / (r.duration_us / 1e6),
    p50: r.p50 / 1000,
    p99: r.p99 / 1000,
    non2xx: r.non2xx,
  };
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(fn: () => boolean | Promise<boolean>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function chroma(): Promise<string> {
  const tests = Deno.env.get("TEST_CHROMA_URL") ?? "http://127.0.0.1:18000";
  if (await fetch(`${tests}/api/v2/heartbeat`).then((r) => r.ok, () => false)) return tests;
  const dataDir = await Deno.makeTempDir({ prefix: "coachd-bench-chroma-" });
  const c = stack.use(await startLocalChroma({ dataDir, port: 18900, log: () => {} }));
  return c.url;
}
