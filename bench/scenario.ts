/**
 * One benchmark configuration (N nodes): the user-turn load, the reminder burst, idle activations
 * and pending reminders, each measured from the outside (HTTP, `/proc`, Postgres).
 */
import { BenchCluster, type BenchNode } from "./cluster.ts";
import { CallFailedError, callJson, runCalls, userTurns } from "./load.ts";
import {
  cpuMs,
  groupCpuMs,
  postgresProcesses,
  procStat,
  rssBytes,
  serverProcesses,
  trackCpu,
} from "./procfs.ts";
import { summarize, type Summary } from "./stats.ts";
import { wrkTurns } from "./wrk.ts";
import type { NudgeStats, UserState } from "./user_actor.ts";

export interface ScenarioOptions {
  databaseUrl: string;
  natsUrl: string;
  nodes: number;
  partitions: number;
  logDir: string;
  nodeV8Flags?: string;
  /** Measured user turns, and the warm-up before them. */
  calls: number;
  warmup: number;
  concurrency: number;
  keys: number;
  /** One-shot reminders spread over `reminderKeys` keys, due within `reminderWindowMs`. */
  reminders: number;
  reminderKeys: number;
  reminderWindowMs: number;
  /** How far ahead of scheduling the due window opens. */
  reminderLeadMs: number;
  idleActivations: number;
  pendingReminders: number;
  /** How long to let nodes run their reminder-window loads over the pending rows. */
  pendingSettleMs: number;
  /** Quiet time before each memory reading. */
  memorySettleMs: number;
  progress: (line: string) => void;
  /** What drives the measured user turns: `wrk` (C, little CPU) or the in-process generator. */
  driver: "wrk" | "deno";
}

export interface CpuPerOp {
  node: number;
  postgres: number;
  nats: number;
  /** node + postgres + nats */
  total: number;
  /** The in-process load generator, not part of the total. */
  loadGenerator: number;
}

export interface TurnsResult {
  calls: number;
  errors: number;
  errorSamples: string[];
  elapsedMs: number;
  turnsPerSec: number;
  latencyMs: Summary;
  cpuMsPerTurn: CpuPerOp;
  /** Mean turns per group commit during the measured run (from the nodes' metrics). */
  commitBatchMean: number;
  /** Sum of every key's `count` against the messages acknowledged over HTTP. */
  applied: number;
  acknowledged: number;
  historyBounded: boolean;
}

export interface RemindersResult {
  scheduled: number;
  keys: number;
  windowMs: number;
  /** Time left before the window opened when the last schedule call returned (negative: late). */
  scheduledAheadMs: number;
  fired: number;
  missing: number;
  duplicates: number;
  allFiredOnce: boolean;
  latenessMs: Summary;
  cpuMsPerReminder: CpuPerOp;
}

export interface IdleResult {
  activations: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  bytesPer10k: number;
  /** V8 heap in use after a full GC, before and after, summed over the nodes. */
  heapBeforeBytes: number;
  heapAfterBytes: number;
  heapBytesPer10k: number;
  residentActors: number;
}

export interface PendingResult {
  reminders: number;
  insertMs: number;
  tableBytes: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  deltaBytes: number;
  heapDeltaBytes: number;
  /** The nodes' own count of reminders held in memory. */
  heldInWindow: number;
  /** Time of the window query a node runs for all partitions, run here with EXPLAIN ANALYZE. */
  windowQueryMs: number;
}

export interface ScenarioResult {
  nodes: number;
  partitions: number;
  rssReadyBytes: number;
  turns: TurnsResult;
  reminders?: RemindersResult;
  idle?: IdleResult;
  pending?: PendingResult;
}

const KEY_PREFIX = "u-";
/** Exported by bench/serve.ts. */
const HEAP = "coachd_bench_heap_used_bytes";

/** Starts a fresh N-node cluster, runs every phase, tears it down. */
export async function runScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  const label = `${o.nodes} node${o.nodes > 1 ? "s" : ""}`;
  const say = (line: string) => o.progress(`[${label}] ${line}`);
  say("starting cluster");
  await using cluster = await BenchCluster.start(o);
  say(`ready: schema ${cluster.schema}, prefix ${cluster.prefix}, ${cluster.urls.join(" ")}`);
  const result: ScenarioResult = {
    nodes: o.nodes,
    partitions: o.partitions,
    rssReadyBytes: nodesRss(cluster.nodes),
    turns: await turnsPhase(cluster, o, say),
  };
  if (o.reminders > 0) result.reminders = await remindersPhase(cluster, o, say);
  if (o.idleActivations > 0) result.idle = await idlePhase(cluster, o, say);
  if (o.pendingReminders > 0) {
    result.pending = await pendingPhase(cluster, o, say, result.idle);
  }
  say("stopping cluster");
  return result;
}

async function turnsPhase(
  cluster: BenchCluster,
  o: ScenarioOptions,
  say: (line: string) => void,
): Promise<TurnsResult> {
  const load = {
    urls: cluster.urls,
    keys: o.keys,
    keyPrefix: KEY_PREFIX,
    concurrency: o.concurrency,
  };
  say(`warm-up: ${o.warmup} calls`);
  const warm = await userTurns({ ...load, calls: o.warmup });
  if (warm.errors > 0) say(`warm-up errors: ${warm.errors} (${warm.errorSamples[0]})`);
  say(`measured: ${o.calls} calls, ${o.concurrency} callers, ${o.keys} keys`);
  const batch0 = await commitBatches(cluster.urls);
  const meter = cpuMeter(cluster);
  // wrk runs for a time: sized from the warm-up's rate to make about `calls` calls.
  const warmRate = (warm.calls - warm.errors) / (warm.elapsedMs / 1000);
  const durationS = Math.min(120, Math.max(5, Math.round(o.calls / Math.max(1, warmRate))));
  const run = o.driver === "wrk"
    ? await wrkTurns({ ...load, calls: o.calls, offset: o.warmup, durationS })
    : await userTurns({ ...load, calls: o.calls, offset: o.warmup });
  const cpu = meter.stop(run.calls - run.errors);
  const batch1 = await commitBatches(cluster.urls);
  const turnsPerSec = (run.calls - run.errors) / (run.elapsedMs / 1000);
  const latencyMs = "latenciesMs" in run ? summarize(run.latenciesMs) : run.latencyMs;
  say(
    `${turnsPerSec.toFixed(0)} turns/s, p50 ${latencyMs.p50.toFixed(1)} ms, p99 ${
      latencyMs.p99.toFixed(1)
    } ms, ${cpu.total.toFixed(3)} CPU ms/turn, ${run.errors} errors`,
  );
  // Every acknowledged message must be in exactly one count (errors may or may not have applied).
  say("checking counts");
  const states = new Array<UserState>(o.keys);
  const read = await runCalls(o.keys, async (k) => {
    states[k] = await callJson<UserState>(
      `${cluster.urls[k % cluster.urls.length]}/user/${KEY_PREFIX}${k}/state`,
    );
  }, { concurrency: o.concurrency });
  if (read.errors > 0) throw new CallFailedError("state", read.errorSamples.join("; "));
  const applied = states.reduce((sum, s) => sum + s.count, 0);
  const historyBounded = states.every((s) => s.history.length === Math.min(20, s.count));
  return {
    calls: run.calls,
    errors: run.errors,
    errorSamples: run.errorSamples,
    elapsedMs: run.elapsedMs,
    turnsPerSec,
    latencyMs,
    cpuMsPerTurn: cpu,
    commitBatchMean: (batch1.sum - batch0.sum) / Math.max(1, batch1.count - batch0.count),
    applied,
    acknowledged: warm.calls - warm.errors + run.calls - run.errors,
    historyBounded,
  };
}

async function remindersPhase(
  cluster: BenchCluster,
  o: ScenarioOptions,
  say: (line: string) => void,
): Promise<RemindersResult> {
  const windowStart = Date.now() + o.reminderLeadMs;
  const windowEnd = windowStart + o.reminderWindowMs;
  const perKey: number[][] = Array.from({ length: o.reminderKeys }, () => []);
  for (let j = 0; j < o.reminders; j++) {
    perKey[j % o.reminderKeys]!.push(windowStart + Math.floor(Math.random() * o.reminderWindowMs));
  }
  say(`scheduling ${o.reminders} reminders on ${o.reminderKeys} keys`);
  const url = (k: number, what: string) =>
    `${cluster.urls[k % cluster.urls.length]}/user/${KEY_PREFIX}${k}/${what}`;
  const scheduling = await runCalls(o.reminderKeys, async (k) => {
    const n = await callJson<number>(url(k, "scheduleNudges"), { dueAts: perKey[k] });
    if (n !== perKey[k]!.length) throw new CallFailedError(url(k, ""), `scheduled ${n}`);
  }, { concurrency: o.concurrency });
  if (scheduling.errors > 0) {
    throw new CallFailedError("scheduleNudges", scheduling.errorSamples.join("; "));
  }
  const scheduledAheadMs = windowStart - Date.now();
  say(`scheduled ${(scheduledAheadMs / 1000).toFixed(1)} s before the window opens; waiting`);
  await sleep(windowStart - Date.now());
  // CPU from the window's opening until every reminder's turn is done: firing, not scheduling.
  const meter = cpuMeter(cluster);
  await sleep(windowEnd + 250 - Date.now());
  const deadline = windowEnd + 60_000;
  // Rows leave rt_reminders once published; then their turns only have to drain.
  while (Date.now() < deadline) {
    const { rows } = await cluster.pool.query<{ n: number }>(
      "select count(*)::int as n from rt_reminders",
    );
    if (rows[0]!.n === 0) break;
    await sleep(200);
  }
  await sleep(500);
  const cpu = meter.stop(o.reminders);
  const stats = new Array<NudgeStats | undefined>(o.reminderKeys);
  for (;;) {
    const todo = [...stats.keys()].filter((k) =>
      (stats[k]?.fired.length ?? -1) < perKey[k]!.length
    );
    if (todo.length === 0 || Date.now() > deadline) break;
    if (todo.length < o.reminderKeys) await sleep(500);
    await runCalls(todo.length, async (i) => {
      const k = todo[i]!;
      stats[k] = await callJson<NudgeStats>(url(k, "nudgeStats"), null);
    }, { concurrency: o.concurrency });
  }
  let fired = 0;
  let matched = 0;
  const lateness: number[] = [];
  for (let k = 0; k < o.reminderKeys; k++) {
    const got = stats[k]?.fired ?? [];
    fired += got.length;
    const want = new Map<number, number>();
    for (const d of perKey[k]!) want.set(d, (want.get(d) ?? 0) + 1);
    for (const [dueAt, firedAt] of got) {
      lateness.push(firedAt - dueAt);
      const left = want.get(Math.round(dueAt)) ?? 0;
      if (left > 0) {
        want.set(Math.round(dueAt), left - 1);
        matched++;
      }
    }
  }
  const latenessMs = summarize(lateness);
  const result = {
    scheduled: o.reminders,
    keys: o.reminderKeys,
    windowMs: o.reminderWindowMs,
    scheduledAheadMs,
    fired,
    missing: o.reminders - matched,
    duplicates: fired - matched,
    allFiredOnce: matched === o.reminders && fired === o.reminders,
    latenessMs,
    cpuMsPerReminder: cpu,
  };
  say(
    `fired ${fired}/${o.reminders} (missing ${result.missing}, duplicates ${result.duplicates}), ` +
      `lateness p50 ${latenessMs.p50} ms, p99 ${latenessMs.p99} ms`,
  );
  return result;
}

async function idlePhase(
  cluster: BenchCluster,
  o: ScenarioOptions,
  say: (line: string) => void,
): Promise<IdleResult> {
  say(`letting memory settle for ${o.memorySettleMs / 1000} s`);
  const rssBeforeBytes = await settledRss(cluster, o.memorySettleMs, say);
  const heapBeforeBytes = await scrapeSum(cluster.urls, HEAP);
  say(`activating ${o.idleActivations} more keys, one message each`);
  const run = await runCalls(o.idleActivations, async (i) => {
    await callJson(`${cluster.urls[i % cluster.urls.length]}/user/idle-${i}/message`, "hello");
  }, { concurrency: o.concurrency });
  if (run.errors > 0) throw new CallFailedError("idle activations", run.errorSamples.join("; "));
  say(`letting memory settle for ${o.memorySettleMs / 1000} s`);
  const rssAfterBytes = await settledRss(cluster, o.memorySettleMs, say);
  const heapAfterBytes = await scrapeSum(cluster.urls, HEAP);
  const residentActors = await scrapeSum(cluster.urls, "coachd_resident_actors");
  const per10k = (bytes: number) => bytes * 10_000 / o.idleActivations;
  const result = {
    activations: o.idleActivations,
    rssBeforeBytes,
    rssAfterBytes,
    bytesPer10k: per10k(rssAfterBytes - rssBeforeBytes),
    heapBeforeBytes,
    heapAfterBytes,
    heapBytesPer10k: per10k(heapAfterBytes - heapBeforeBytes),
    residentActors,
  };
  say(
    `RSS ${mb(rssBeforeBytes)} -> ${mb(rssAfterBytes)} MB, ${mb(result.bytesPer10k)} MB/10k ` +
      `(V8 heap ${mb(result.heapBytesPer10k)} MB/10k)`,
  );
  return result;
}

async function pendingPhase(
  cluster: BenchCluster,
  o: ScenarioOptions,
  say: (line: string) => void,
  settledBefore?: IdleResult,
): Promise<PendingResult> {
  // Right after the idle phase's settled reading, nothing has run since: reuse it.
  const rssBeforeBytes = settledBefore?.rssAfterBytes ??
    await settledRss(cluster, o.memorySettleMs, say);
  const heapBeforeBytes = settledBefore?.heapAfterBytes ?? await scrapeSum(cluster.urls, HEAP);
  say(`inserting ${o.pendingReminders} reminders due in 30+ days`);
  const t0 = performance.now();
  // 10 reminders per actor; spread over every partition, as hashed ids would be.
  await cluster.pool.query(
    `insert into rt_reminders (actor_type, actor_id, name, partition, due_at, period_ms, payload)
     select 'user', 'far-' || (g / 10), 'nudge:far:' || g, g % $2,
            now() + interval '30 days' + g * interval '1 second', null, '{"kind":"nudge"}'::jsonb
     from generate_series(0, $1::int - 1) g`,
    [o.pendingReminders, o.partitions],
  );
  const insertMs = performance.now() - t0;
  await cluster.pool.query("analyze rt_reminders");
  const { rows: [size] } = await cluster.pool.query<{ bytes: string }>(
    "select pg_total_relation_size('rt_reminders') as bytes",
  );
  const { rows: plan } = await cluster.pool.query<{ "QUERY PLAN": string }>(
    `explain analyze select actor_type, actor_id, name, partition,
            (extract(epoch from due_at) * 1000)::float8 as due, period_ms, payload
     from rt_reminders where partition = any($1::int[]) and due_at < now() + interval '10 seconds'`,
    [Array.from({ length: o.partitions }, (_, i) => i)],
  );
  const execution = plan.map((r) => r["QUERY PLAN"]).join("\n").match(/Execution Time: ([\d.]+)/);
  say(`inserted in ${(insertMs / 1000).toFixed(1)} s; letting the nodes load their windows`);
  const rssAfterBytes = await settledRss(
    cluster,
    Math.max(o.pendingSettleMs, o.memorySettleMs),
    say,
  );
  const heapAfterBytes = await scrapeSum(cluster.urls, HEAP);
  const result = {
    reminders: o.pendingReminders,
    insertMs,
    tableBytes: Number(size?.bytes ?? 0),
    rssBeforeBytes,
    rssAfterBytes,
    deltaBytes: rssAfterBytes - rssBeforeBytes,
    heapDeltaBytes: heapAfterBytes - heapBeforeBytes,
    heldInWindow: await scrapeSum(cluster.urls, "coachd_reminders_in_window"),
    windowQueryMs: Number(execution?.[1] ?? NaN),
  };
  say(`RSS ${mb(rssBeforeBytes)} -> ${mb(rssAfterBytes)} MB with ${o.pendingReminders} pending`);
  return result;
}

interface CpuSnapshot {
  node: number;
  postgres: number;
  nats: number;
  self: number;
}

/** CPU of the nodes, Postgres, NATS and this process from now until `stop()`. */
function cpuMeter(cluster: BenchCluster) {
  const pgPort = Number(new URL(cluster.o.databaseUrl).port || 5432);
  const natsPort = Number(new URL(cluster.o.natsUrl.replace(/^nats:/, "http:")).port || 4222);
  // Only the backends serving our nodes (and the server's own processes), so other clients of a
  // shared Postgres stay out; sampled, since pooled connections may close meanwhile.
  const postgres = trackCpu(() =>
    postgresProcesses(pgPort, { clients: cluster.nodes.map((n) => n.pid) })
  );
  const snap = () => ({
    node: cluster.nodes.reduce((sum, n) => sum + cpuMs(n.pid), 0),
    nats: groupCpuMs(serverProcesses("nats-server", natsPort)),
    // With the wrk driver the load generator is a child process, counted once it has exited.
    self: cpuMs(Deno.pid) + (procStat(Deno.pid)?.childCpuMs ?? 0),
  });
  const start = snap();
  return {
    /** CPU ms per operation over `ops` operations. */
    stop(ops: number): CpuPerOp {
      const end = snap();
      const used: CpuSnapshot = {
        node: end.node - start.node,
        postgres: postgres.stop(),
        nats: end.nats - start.nats,
        self: end.self - start.self,
      };
      const per = (k: keyof CpuSnapshot) => used[k] / Math.max(1, ops);
      return {
        node: per("node"),
        postgres: per("postgres"),
        nats: per("nats"),
        total: per("node") + per("postgres") + per("nats"),
        loadGenerator: per("self"),
      };
    },
  };
}

/**
 * The nodes' RSS after `settleMs` of quiet. Memory freed by a burst of work goes back to the OS
 * only some 20 s later (a full GC does not hurry it), and reading it at once would charge that
 * slack to what is live.
 */
async function settledRss(
  cluster: BenchCluster,
  settleMs: number,
  say: (line: string) => void,
): Promise<number> {
  const readings: number[] = [];
  const until = Date.now() + settleMs;
  for (let i = 0; Date.now() < until; i++) {
    if (i % 5 === 0) await cluster.collectGarbage();
    else await sleep(1000);
    readings.push(nodesRss(cluster.nodes));
  }
  await cluster.collectGarbage();
  const now = nodesRss(cluster.nodes);
  const recent = [...readings.slice(-4), now];
  if (Math.max(...recent) - Math.min(...recent) > 2 * 1048576) {
    say(`RSS still moving after ${settleMs} ms (${recent.map(mb).join(", ")} MB)`);
  }
  return now;
}

function nodesRss(nodes: BenchNode[]): number {
  return nodes.reduce((sum, n) => sum + rssBytes(n.pid), 0);
}

/** Sums every sample of a metric (all label sets) over the nodes' `/metrics`. */
async function scrapeSum(urls: string[], metric: string): Promise<number> {
  let sum = 0;
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const line of text.split("\n")) {
      const m = line.match(/^([a-z_]+)(?:\{[^}]*\})? ([-\d.e+]+|NaN)$/);
      if (m?.[1] === metric) sum += Number(m[2]);
    }
  }
  return sum;
}

async function commitBatches(urls: string[]) {
  return {
    sum: await scrapeSum(urls, "coachd_commit_batch_size_sum"),
    count: await scrapeSum(urls, "coachd_commit_batch_size_count"),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const mb = (bytes: number) => (bytes / 1048576).toFixed(1);
