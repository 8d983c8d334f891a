// deno-lint-ignore-file no-console -- entry point: talks to the terminal
/**
 * `deno task bench widget`: one node process (bench/widget_node.ts: main.ts's wiring plus a
 * stand-in coach actor) holding `--sockets` concurrent widget WebSockets, each an end user with
 * a signed session, opened from this process with the widget's allowed Origin.
 *
 * 1. memory: the node's resident set (VmRSS) before the sockets and once all are ready;
 * 2. fan-out: `--messages` deliveries at `--rate` per second, each asked for by an actor turn
 *    (stamped with the turn's time) to a random person; latency from that turn to the message
 *    frame on the person's socket, through the outbox, the events stream, the delivery worker,
 *    the real-time log and the NATS fan-out. Each message must arrive exactly once.
 *
 * Environment: DATABASE_URL, NATS_URL (else the tests' defaults). Streaming of answers is off
 * (WIDGET_STREAM_CHUNK_MS=0): the figure is the way to the socket, not the typing effect.
 */
import { parseArgs } from "node:util";
import { dirname } from "node:path";
import { encodeBase64 } from "../runtime/base64.ts";
import { ActorSystem, jsonLogger } from "../runtime/mod.ts";
import { freePort, NATS_URL, testDb, testNats, VECTOR_CACHE_DIR } from "../tests/harness.ts";
import { signUpCreator } from "../tests/node_process.ts";
import { signSession } from "../channels/widget/session.ts";
import { machineInfo } from "./procfs.ts";
import { summarize } from "./stats.ts";
import { fanoutBenchActor } from "./widget_actor.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    sockets: { type: "string", default: "5000" },
    messages: { type: "string", default: "2000" },
    rate: { type: "string", default: "100" },
    "open-concurrency": { type: "string", default: "100" },
    out: { type: "string" },
  },
});
const SOCKETS = Number(args.values.sockets);
const MESSAGES = Number(args.values.messages);
const RATE = Number(args.values.rate);
const ORIGIN = "http://site.bench";

const rssBytes = (pid: number) =>
  Number(Deno.readTextFileSync(`/proc/${pid}/status`).match(/^VmRSS:\s+(\d+) kB/m)?.[1] ?? 0) *
  1024;
const mb = (b: number) => (b / 1024 / 1024).toFixed(1);

await using db = await testDb({ max: 4 });
await using nats = await testNats();
const mailDir = await Deno.makeTempDir({ prefix: "coachd-bench-mail-" });
const port = freePort();
const url = `http://127.0.0.1:${port}`;
const child = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", new URL("./widget_node.ts", import.meta.url).pathname],
  env: {
    DATABASE_URL: db.url,
    NATS_URL,
    NATS_PREFIX: nats.prefix,
    PORT: String(port),
    HOST: "127.0.0.1",
    NODE_ID: "bench",
    PARTITIONS: "8",
    DATA_DIR: dirname(VECTOR_CACHE_DIR),
    JWT_SECRET: encodeBase64(crypto.getRandomValues(new Uint8Array(48))),
    SECRETS_KEY: encodeBase64(crypto.getRandomValues(new Uint8Array(32))),
    MAIL_DROP_DIR: mailDir,
    LOG_LEVEL: "error",
    WIDGET_STREAM_CHUNK_MS: "0",
  },
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
while (!(await stdout.read()).value?.includes("ready")) { /* wait for the node */ }
stdout.releaseLock();
child.stdout.cancel().catch(() => {});

try {
  const creator = await signUpCreator(url, mailDir);
  const widget = await creator.call("POST", "/channels", {
    kind: "web_widget",
    name: "Bench",
    allowed_origins: [ORIGIN],
  });
  const secret = widget.generated_secrets.identity_secret as string;
  // The people: end users with a widget identity each, as their first message would make them.
  const { rows: people } = await db.pool.query<{ end_user_id: string; identity_id: string }>(
    `with u as (
       insert into end_users (creator_id, channel, external_id, display_name)
       select $1, 'web_widget', 'v:bench-' || i, '' from generate_series(1, $3) i
       returning id, external_id)
     insert into channel_identities (creator_id, end_user_id, channel, external_id, connection_id)
     select $1, u.id, 'web_widget', u.external_id, $2 from u
     returning end_user_id, id identity_id`,
    [creator.creatorId, widget.id, SOCKETS],
  );
  const { rows: ext } = await db.pool.query<{ id: string; external_id: string }>(
    "select id, external_id from channel_identities where connection_id = $1",
    [widget.id],
  );
  const extOf = new Map(ext.map((r) => [r.id, r.external_id]));

  await new Promise((r) => setTimeout(r, 2000)); // let the node settle after start
  const rssBefore = rssBytes(child.pid);

  // Open the sockets.
  const arrivals = new Map<string, number[]>(); // text -> arrival times
  const sockets: WebSocket[] = [];
  const wsUrl = `${url.replace("http", "ws")}/widget/v1/socket?key=${widget.public_key}`;
  const openStarted = performance.now();
  let ready = 0;
  const openOne = async (i: number) => {
    const p = people[i]!;
    const { token } = await signSession({
      identitySecret: secret,
      connectionId: widget.id,
      visitor: { externalUserId: extOf.get(p.identity_id)!, identified: false },
    });
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(wsUrl, { headers: { origin: ORIGIN } } as unknown as string[]);
      ws.onopen = () => ws.send(JSON.stringify({ type: "hello", v: 1, token, after: 0 }));
      ws.onerror = () => reject(new Error(`socket ${i} failed`));
      ws.onmessage = (e) => {
        const f = JSON.parse(e.data);
        if (f.type === "ready") {
          ready++;
          resolve();
        } else if (f.type === "message" && f.live) {
          const seen = arrivals.get(f.message.text) ?? [];
          seen.push(Date.now());
          arrivals.set(f.message.text, seen);
        }
      };
      sockets.push(ws);
    });
  };
  const conc = Number(args.values["open-concurrency"]);
  for (let i = 0; i < SOCKETS; i += conc) {
    await Promise.all(
      Array.from({ length: Math.min(conc, SOCKETS - i) }, (_, k) => openOne(i + k)),
    );
  }
  const openMs = performance.now() - openStarted;
  // Sessions subscribe after `ready`: give the last ones a moment, then measure.
  await new Promise((r) => setTimeout(r, 3000));
  const rssOpen = rssBytes(child.pid);
  console.log(
    `${ready} sockets ready in ${(openMs / 1000).toFixed(1)} s; node RSS ${mb(rssBefore)} -> ${
      mb(rssOpen)
    } MB`,
  );

  // Fan-out: actor turns ask for deliveries at RATE per second.
  const system = await ActorSystem.start({
    pool: db.pool,
    nc: nats.nc,
    actors: [fanoutBenchActor],
    nodeId: "bench-client",
    prefix: nats.prefix,
    partitions: 8,
    host: false,
    log: jsonLogger("error"),
  });
  // The fan-out itself, seen from NATS: when the sender published each message.
  const published = new Map<string, number>();
  const tap = nats.nc.subscribe(`${nats.prefix}.rt.u.*.ev`, {
    callback: (_err, msg) => {
      const e = msg.json<{ type: string; message?: { text: string }; sentAt?: number }>();
      if (e.type === "message" && e.message) published.set(e.message.text, e.sentAt ?? Date.now());
    },
  });
  const sentTexts: { n: number }[] = [];
  const started = performance.now();
  for (let n = 0; n < MESSAGES; n++) {
    const due = started + (n * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const p = people[Math.floor(Math.random() * people.length)]!;
    system.ref(fanoutBenchActor, `b${n % 32}`).tell("send", {
      creatorId: creator.creatorId,
      endUserId: p.end_user_id,
      identityId: p.identity_id,
      n,
    }).catch((err) => console.error("tell failed", String(err)));
    sentTexts.push({ n });
  }
  // Wait for the stragglers (up to 30 s).
  const deadline = Date.now() + 30_000;
  while (arrivals.size < MESSAGES && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
  }
  const rssAfter = rssBytes(child.pid);
  tap.unsubscribe();
  const latencies: number[] = [];
  const toPublish: number[] = [];
  const toSocket: number[] = [];
  let doubled = 0;
  for (const [text, times] of arrivals) {
    const t = Number(text.split(" ")[2]);
    latencies.push(times[0]! - t);
    const pub = published.get(text);
    if (pub !== undefined) {
      toPublish.push(pub - t);
      toSocket.push(times[0]! - pub);
    }
    if (times.length > 1) doubled++;
  }
  const s = summarize(latencies);
  const q = (v: number[]) => {
    const x = summarize(v);
    return { p50: Math.round(x.p50), p99: Math.round(x.p99) };
  };
  const m = machineInfo();
  const report = {
    date: new Date().toISOString().slice(0, 10),
    machine: `${m.nproc} × ${m.cpuModel}, ${mb(m.memTotalBytes)} MB, load ${m.loadAvg}`,
    sockets: ready,
    openSeconds: Number((openMs / 1000).toFixed(1)),
    rssBeforeMB: Number(mb(rssBefore)),
    rssOpenMB: Number(mb(rssOpen)),
    rssAfterMB: Number(mb(rssAfter)),
    growthMB: Number(mb(rssOpen - rssBefore)),
    messages: MESSAGES,
    rate: RATE,
    arrived: arrivals.size,
    doubled,
    latencyMs: {
      p50: Math.round(s.p50),
      p95: Math.round(s.p95),
      p99: Math.round(s.p99),
      max: Math.round(s.max),
    },
    /** From the actor's turn to the sender's publish (outbox, events stream, delivery worker). */
    turnToPublishMs: q(toPublish),
    /** From the publish to the socket (NATS fan-out, the node's socket session, the client). */
    publishToSocketMs: q(toSocket),
  };
  console.log(JSON.stringify(report, null, 2));
  if (args.values.out) await Deno.writeTextFile(args.values.out, JSON.stringify(report, null, 2));
  for (const ws of sockets) ws.close();
  await system.stop();
} finally {
  child.kill("SIGTERM");
  await child.status;
  await Deno.remove(mailDir, { recursive: true });
}
