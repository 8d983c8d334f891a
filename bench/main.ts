// deno-lint-ignore-file no-console -- entry point: talks to the terminal
/**
 * `deno task bench`: the user-turn benchmark. Starts 1 then 2 nodes of `bench/serve.ts` on a
 * fresh schema and prefix, drives them over HTTP and prints a table (also written to
 * `bench/results/`). `deno task bench serve` runs one benchmark node; `deno task bench api` and
 * `deno task bench knowledge` run the `bench:api` / `bench:knowledge` tasks when they exist.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { machineInfo } from "./procfs.ts";
import { runPgbench } from "./pgbench.ts";
import { type BenchReport, renderMarkdown } from "./report.ts";
import { runScenario, type ScenarioResult } from "./scenario.ts";
import { wrkAvailable } from "./wrk.ts";

const USAGE = `Usage:
  deno task bench [options]      full run: pgbench, then 1 node and 2 nodes
  deno task bench serve          one benchmark node (PORT, NODE_ID, DATABASE_URL, NATS_URL, ...)
  deno task bench <name>         the bench:<name> task (api, knowledge, channels, widget, mobile)

Options (defaults in brackets):
  --nodes 1,2              node counts to run [1,2]
  --calls N                measured message calls [20000]
  --warmup N               warm-up calls [2000]
  --concurrency N          concurrent callers [64]
  --keys N                 keys, round-robin [1000]
  --reminders N            one-shot reminders, 0 to skip [10000]
  --reminder-keys N        keys they are spread over [1000]
  --reminder-window-ms N   window they are all due in [5000]
  --reminder-lead-ms N     delay before the window opens [5000]
  --idle N                 idle activations to measure, 0 to skip [10000]
  --pending N              pending reminders to insert, 0 to skip [1000000]
  --pending-settle-ms N    time for the nodes to load their reminder windows [12000]
  --memory-settle-ms N     quiet time before each memory reading [30000]
  --pgbench-seconds N      pgbench -N duration, 0 to skip [10]
  --pgbench-clients N      pgbench clients [16]
  --partitions N           actor partitions [64]
  --quick                  short validation run (2,000 calls, smaller phases)
  --out DIR                where results go [bench/results]
  --node-v8-flags FLAGS    extra V8 flags for the nodes, e.g. --prof (logs in .data/bench-logs)
  --driver wrk|deno        load generator of the measured turns [wrk when installed, else deno]

Environment: DATABASE_URL [postgres://postgres@127.0.0.1:5432/test], NATS_URL
[nats://127.0.0.1:4222]. Postgres and NATS must be local for the CPU figures.`;

const QUICK = {
  calls: "2000",
  warmup: "300",
  reminders: "2000",
  "reminder-keys": "200",
  idle: "2000",
  pending: "100000",
  "pending-settle-ms": "6000",
  "pgbench-seconds": "3",
};

const count = z.coerce.number().int().nonnegative();
const BenchConfig = z.object({
  databaseUrl: z.string().url(),
  natsUrl: z.string(),
  nodes: z.string().regex(/^\d+(,\d+)*$/).transform((s) => s.split(",").map(Number)),
  calls: count,
  warmup: count,
  concurrency: count.min(1),
  keys: count.min(1),
  reminders: count,
  reminderKeys: count.min(1),
  reminderWindowMs: count.min(1),
  reminderLeadMs: count,
  idle: count,
  pending: count,
  pendingSettleMs: count,
  memorySettleMs: count,
  pgbenchSeconds: count,
  pgbenchClients: count.min(1),
  partitions: count.min(1),
  out: z.string(),
  nodeV8Flags: z.string().optional(),
  driver: z.enum(["wrk", "deno"]),
});
type BenchConfig = z.infer<typeof BenchConfig>;

function loadBenchConfig(
  args: string[],
  env: Record<string, string | undefined>,
  hasWrk: boolean,
): BenchConfig {
  const { values } = parseArgs({
    args,
    options: {
      nodes: { type: "string", default: "1,2" },
      calls: { type: "string", default: "20000" },
      warmup: { type: "string", default: "2000" },
      concurrency: { type: "string", default: "64" },
      keys: { type: "string", default: "1000" },
      reminders: { type: "string", default: "10000" },
      "reminder-keys": { type: "string", default: "1000" },
      "reminder-window-ms": { type: "string", default: "5000" },
      "reminder-lead-ms": { type: "string", default: "5000" },
      idle: { type: "string", default: "10000" },
      pending: { type: "string", default: "1000000" },
      "pending-settle-ms": { type: "string", default: "12000" },
      "memory-settle-ms": { type: "string", default: "30000" },
      "pgbench-seconds": { type: "string", default: "10" },
      "pgbench-clients": { type: "string", default: "16" },
      partitions: { type: "string", default: "64" },
      quick: { type: "boolean", default: false },
      out: { type: "string", default: new URL("./results", import.meta.url).pathname },
      "node-v8-flags": { type: "string" },
      driver: { type: "string" },
    },
  });
  // --quick lowers the defaults; flags given explicitly still win.
  const given = new Set(
    args.filter((a) => a.startsWith("--")).map((a) => a.slice(2).split("=")[0]),
  );
  const v: Record<string, unknown> = { ...values };
  if (values.quick) {
    for (const [k, q] of Object.entries(QUICK)) if (!given.has(k)) v[k] = q;
  }
  return BenchConfig.parse({
    databaseUrl: env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
    natsUrl: env.NATS_URL ?? "nats://127.0.0.1:4222",
    nodes: v.nodes,
    calls: v.calls,
    warmup: v.warmup,
    concurrency: v.concurrency,
    keys: v.keys,
    reminders: v.reminders,
    reminderKeys: v["reminder-keys"],
    reminderWindowMs: v["reminder-window-ms"],
    reminderLeadMs: v["reminder-lead-ms"],
    idle: v.idle,
    pending: v.pending,
    pendingSettleMs: v["pending-settle-ms"],
    memorySettleMs: v["memory-settle-ms"],
    pgbenchSeconds: v["pgbench-seconds"],
    pgbenchClients: v["pgbench-clients"],
    partitions: v.partitions,
    out: v.out,
    nodeV8Flags: v["node-v8-flags"],
    driver: v.driver ?? (hasWrk ? "wrk" : "deno"),
  });
}

async function fullRun(c: BenchConfig) {
  const progress = (line: string) =>
    console.error(`${new Date().toISOString().slice(11, 19)} ${line}`);
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const settings = {
    natsUrl: c.natsUrl,
    partitions: c.partitions,
    calls: c.calls,
    warmup: c.warmup,
    concurrency: c.concurrency,
    keys: c.keys,
    reminders: c.reminders,
    reminderKeys: Math.min(c.reminderKeys, c.keys),
    reminderWindowMs: c.reminderWindowMs,
    reminderLeadMs: c.reminderLeadMs,
    idleActivations: c.idle,
    pendingReminders: c.pending,
    pendingSettleMs: c.pendingSettleMs,
    memorySettleMs: c.memorySettleMs,
    driver: c.driver,
  };
  const report: BenchReport = { startedAt, finishedAt: "", machine, settings, runs: [] };
  if (c.pgbenchSeconds > 0) {
    progress(`pgbench -N -c ${c.pgbenchClients} -j 2 -T ${c.pgbenchSeconds}`);
    report.pgbench = await runPgbench({
      databaseUrl: c.databaseUrl,
      clients: c.pgbenchClients,
      seconds: c.pgbenchSeconds,
    });
    progress(`pgbench: ${report.pgbench.tps.toFixed(0)} TPS`);
  }
  const logDir = new URL("../.data/bench-logs", import.meta.url).pathname;
  for (const nodes of c.nodes) {
    const run: ScenarioResult = await runScenario({
      ...settings,
      databaseUrl: c.databaseUrl,
      nodes,
      logDir,
      nodeV8Flags: c.nodeV8Flags,
      progress,
    });
    report.runs.push(run);
  }
  report.finishedAt = new Date().toISOString();
  const markdown = renderMarkdown(report);
  console.log(markdown);
  const stamp = startedAt.replaceAll(":", "").replace(/\.\d+Z$/, "Z");
  await Deno.mkdir(`${c.out}/runs`, { recursive: true });
  const json = JSON.stringify(report, null, 2) + "\n";
  await Deno.writeTextFile(`${c.out}/runs/${stamp}.json`, json);
  await Deno.writeTextFile(`${c.out}/runs/${stamp}.md`, markdown);
  await Deno.writeTextFile(`${c.out}/latest.json`, json);
  await Deno.writeTextFile(`${c.out}/latest.md`, markdown);
  progress(`written to ${c.out}/latest.md and ${c.out}/runs/${stamp}.{md,json}`);
}

/** Runs the `bench:<name>` task with the remaining arguments, if deno.json declares it. */
async function delegate(name: string, args: string[]): Promise<number> {
  const denoJson = JSON.parse(
    await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
  ) as { tasks?: Record<string, unknown> };
  const task = `bench:${name}`;
  if (!denoJson.tasks?.[task]) {
    console.error(`No "${task}" task in deno.json yet.`);
    return 1;
  }
  const child = new Deno.Command(Deno.execPath(), { args: ["task", task, ...args] }).spawn();
  return (await child.status).code;
}

async function main(args: string[]) {
  const [sub, ...rest] = args;
  if (sub === "serve") {
    const { serve } = await import("./serve.ts");
    return await serve(Deno.env.toObject());
  }
  if (sub === "help" || args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return;
  }
  // Any other name runs its `bench:<name>` task (api, knowledge, channels, widget, mobile...).
  if (sub !== undefined && !sub.startsWith("--")) Deno.exit(await delegate(sub, rest));
  let config;
  try {
    config = loadBenchConfig(args, Deno.env.toObject(), await wrkAvailable());
  } catch (err) {
    const message = err instanceof z.ZodError ? z.prettifyError(err) : String(err);
    console.error(`${message}\n\n${USAGE}`);
    Deno.exit(2);
  }
  await fullRun(config);
}

if (import.meta.main) await main(Deno.args);
