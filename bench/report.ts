/** The benchmark's result document and its markdown rendering. */
import type { MachineInfo } from "./procfs.ts";
import type { PgbenchResult } from "./pgbench.ts";
import type { ScenarioOptions, ScenarioResult } from "./scenario.ts";

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  settings: Omit<ScenarioOptions, "progress" | "nodes" | "databaseUrl" | "logDir">;
  pgbench?: PgbenchResult;
  runs: ScenarioResult[];
}

const MB = 1048576;
const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || Number.isNaN(n)
    ? "–"
    : n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mark = (ok: boolean | undefined) => ok === undefined ? "" : ok ? " ✓" : " ✗";

/** Renders the report as a markdown document: machine, settings, one column per node count. */
export function renderMarkdown(r: BenchReport): string {
  const { machine: m, settings: s, pgbench: pgb } = r;
  const tps = pgb?.tps;
  const rows: [string, (x: ScenarioResult) => string, string][] = [
    [
      "turns/s",
      (x) =>
        fmt(x.turns.turnsPerSec) + mark(tps === undefined ? undefined : x.turns.turnsPerSec >= tps),
      tps === undefined ? "≥ pgbench -N TPS" : `≥ ${fmt(tps)} (pgbench -N)`,
    ],
    [
      "latency p50 / p95 / p99 (ms)",
      (x) =>
        `${fmt(x.turns.latencyMs.p50, 1)} / ${fmt(x.turns.latencyMs.p95, 1)} / ${
          fmt(x.turns.latencyMs.p99, 1)
        }${mark(x.turns.latencyMs.p99 < 50)}`,
      "p99 < 50",
    ],
    ["failed calls", (x) => `${fmt(x.turns.errors)} of ${fmt(x.turns.calls)}`, "0"],
    [
      "CPU ms/turn: node + Postgres + NATS = total",
      (x) => {
        const c = x.turns.cpuMsPerTurn;
        return `${fmt(c.node, 3)} + ${fmt(c.postgres, 3)} + ${fmt(c.nats, 3)} = ${fmt(c.total, 3)}${
          mark(c.total < 0.6)
        }`;
      },
      "< 0.6",
    ],
    ["CPU ms/turn of the load generator", (x) => fmt(x.turns.cpuMsPerTurn.loadGenerator, 3), ""],
    ["turns per group commit (mean)", (x) => fmt(x.turns.commitBatchMean, 1), ""],
    [
      "Σ count vs calls acknowledged (+ in flight when wrk stopped)",
      (x) => {
        // wrk stops on time: calls in flight then were applied but never acknowledged to it.
        const extra = x.turns.applied - x.turns.acknowledged;
        const ok = extra >= 0 && extra <= (s.driver === "wrk" ? s.concurrency : 0);
        return `${fmt(x.turns.applied)} vs ${fmt(x.turns.acknowledged)} (+${fmt(extra)})${
          mark(ok && x.turns.historyBounded)
        }`;
      },
      "every acknowledged call applied once",
    ],
    [
      "reminders fired exactly once",
      (x) =>
        x.reminders
          ? `${fmt(x.reminders.fired)} / ${
            fmt(x.reminders.scheduled)
          }, missing ${x.reminders.missing}, twice ${x.reminders.duplicates}${
            mark(x.reminders.allFiredOnce)
          }`
          : "–",
      "all",
    ],
    [
      "reminder lateness p50 / p99 / max (ms)",
      (x) =>
        x.reminders
          ? `${fmt(x.reminders.latenessMs.p50)} / ${fmt(x.reminders.latenessMs.p99)} / ${
            fmt(x.reminders.latenessMs.max)
          }${mark(x.reminders.latenessMs.p99 < 250)}`
          : "–",
      "p99 < 250",
    ],
    [
      "CPU ms/reminder, window open → all fired: node + Postgres + NATS = total",
      (x) => {
        const c = x.reminders?.cpuMsPerReminder;
        return c
          ? `${fmt(c.node, 3)} + ${fmt(c.postgres, 3)} + ${fmt(c.nats, 3)} = ${fmt(c.total, 3)}`
          : "–";
      },
      "",
    ],
    ["node RSS when ready (MB, all nodes)", (x) => fmt(x.rssReadyBytes / MB, 1), ""],
    [
      "RSS per 10,000 idle activations (MB)",
      (x) =>
        x.idle
          ? `${fmt(x.idle.bytesPer10k / MB, 1)} (${fmt(x.idle.rssBeforeBytes / MB)} → ${
            fmt(x.idle.rssAfterBytes / MB)
          } MB; V8 heap ${fmt(x.idle.heapBytesPer10k / MB, 1)}; ${
            fmt(x.idle.residentActors)
          } resident)`
          : "–",
      "",
    ],
    [
      `node RSS with ${fmt(s.pendingReminders)} pending reminders (MB)`,
      (x) =>
        x.pending
          ? `${fmt(x.pending.rssAfterBytes / MB)} (Δ RSS ${
            fmt(x.pending.deltaBytes / MB, 1)
          }, Δ heap ${fmt(x.pending.heapDeltaBytes / MB, 1)}, ${fmt(x.pending.heldInWindow)} held)${
            mark(x.pending.deltaBytes < 100 * MB)
          }`
          : "–",
      "Δ < 100",
    ],
    [
      "reminder window query over them (ms)",
      (x) => x.pending ? fmt(x.pending.windowQueryMs, 1) : "–",
      "",
    ],
  ];
  const header = ["", ...r.runs.map((x) => `${x.nodes} node${x.nodes > 1 ? "s" : ""}`), "target"];
  const table = [
    `| ${header.join(" | ")} |`,
    `| ${header.map((_, i) => (i === 0 ? "---" : "--:")).join(" | ")} |`,
    ...rows.map(([name, cell, target]) => `| ${[name, ...r.runs.map(cell), target].join(" | ")} |`),
  ];
  return [
    `# Coachd benchmark, ${r.startedAt}`,
    "",
    `Machine: ${m.nproc} × ${m.cpuModel}, ${fmt(m.memTotalBytes / 1024 ** 3, 1)} GiB RAM, ` +
    `Linux ${m.kernel}, load average at start ${m.loadAvg}.`,
    "",
    `Workload: ${fmt(s.calls)} \`message\` calls after ${fmt(s.warmup)} warm-up calls, ` +
    `${s.concurrency} concurrent callers, ${fmt(s.keys)} keys round-robin, ${s.partitions} ` +
    `partitions; ${fmt(s.reminders)} one-shot reminders on ${fmt(s.reminderKeys)} keys due ` +
    `within ${fmt(s.reminderWindowMs)} ms; ${fmt(s.idleActivations)} idle activations; ` +
    `${fmt(s.pendingReminders)} pending reminders. Measured turns driven by ` +
    (s.driver === "wrk" ? "`wrk` (one process per node, 2 threads)" : "the in-process generator") +
    ". CPU from /proc: the node processes; the " +
    "Postgres backends serving them plus the server's own processes (WAL writer, checkpointer, " +
    "...); the nats-server they use.",
    "",
    pgb
      ? `pgbench -N (scale ${pgb.scale}, ${pgb.clients} clients, ${pgb.threads} threads, ` +
        `${pgb.seconds} s, same Postgres): **${fmt(pgb.tps)} TPS**, Postgres ` +
        `${fmt(pgb.postgresCpuMsPerTx, 3)} CPU ms per transaction.`
      : "pgbench: not run.",
    "",
    ...table,
    "",
    ...r.runs.flatMap((x) =>
      x.turns.errorSamples.length
        ? [`Errors with ${x.nodes} node(s): ${x.turns.errorSamples.join("; ")}`, ""]
        : []
    ),
  ].join("\n");
}
