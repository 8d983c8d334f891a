/** `pgbench -N` on the benchmark's Postgres, in a scratch database, as the yardstick for turns/s. */
import pg from "pg";
import { postgresProcesses, trackCpu } from "./procfs.ts";

export interface PgbenchResult {
  clients: number;
  threads: number;
  seconds: number;
  scale: number;
  tps: number;
  transactions: number;
  /** CPU ms of all `postgres` processes per transaction (0 when Postgres is not local). */
  postgresCpuMsPerTx: number;
}

/** pgbench failed or printed no figure. */
export class PgbenchError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PgbenchError";
  }
}

/** Creates a scratch database, runs `pgbench -i` then `pgbench -N`, and drops it. */
export async function runPgbench(
  { databaseUrl, clients = 16, threads = 2, seconds = 10, scale = 1 }: {
    databaseUrl: string;
    clients?: number;
    threads?: number;
    seconds?: number;
    scale?: number;
  },
): Promise<PgbenchResult> {
  const db = `bench_pgbench_${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${db}`);
    const url = new URL(databaseUrl);
    url.pathname = `/${db}`;
    url.search = "";
    await pgbench(["-i", "-q", "-s", String(scale), url.toString()]);
    const port = Number(new URL(databaseUrl).port || 5432);
    // pgbench's backends exit with it: sample them while it runs.
    const tracker = trackCpu(() => postgresProcesses(port, { database: db }));
    const out = await pgbench([
      "-N",
      "-c",
      String(clients),
      "-j",
      String(threads),
      "-T",
      String(seconds),
      url.toString(),
    ]);
    const cpu = tracker.stop();
    const tps = Number(out.match(/tps = ([\d.]+) \(without initial connection time\)/)?.[1]);
    const transactions = Number(out.match(/number of transactions actually processed: (\d+)/)?.[1]);
    if (!Number.isFinite(tps) || !transactions) {
      throw new PgbenchError(`pgbench printed no tps:\n${out}`);
    }
    return {
      clients,
      threads,
      seconds,
      scale,
      tps,
      transactions,
      postgresCpuMsPerTx: cpu / transactions,
    };
  } finally {
    await admin.query(`drop database if exists ${db} with (force)`).catch(() => {});
    await admin.end();
  }
}

async function pgbench(args: string[]): Promise<string> {
  let out;
  try {
    out = await new Deno.Command("pgbench", { args, stdout: "piped", stderr: "piped" }).output();
  } catch (err) {
    throw new PgbenchError(`Cannot run pgbench (apt-get install postgresql-client): ${err}`, {
      cause: err,
    });
  }
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new PgbenchError(`pgbench ${args[0]} failed:\n${text}`);
  return text;
}
