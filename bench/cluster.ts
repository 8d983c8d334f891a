/**
 * A throw-away benchmark cluster: a fresh Postgres schema and NATS prefix, and `bench/serve.ts`
 * nodes as child processes. Disposing it stops the nodes and removes the schema and streams.
 */
import pg from "pg";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { streamNames } from "../runtime/mod.ts";

export interface BenchNode {
  id: string;
  url: string;
  pid: number;
  logFile: string;
  child: Deno.ChildProcess;
}

export interface ClusterOptions {
  databaseUrl: string;
  natsUrl: string;
  nodes: number;
  partitions: number;
  /** Where each node's log goes (`<logDir>/<schema>-<node>.log`). */
  logDir: string;
  /** Extra V8 flags for the nodes, e.g. `--prof` (its logs land in `logDir`). */
  nodeV8Flags?: string;
  readyTimeoutMs?: number;
}

/** A node did not become ready, or exited early. */
export class ClusterStartError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ClusterStartError";
  }
}

const SERVE = new URL("./serve.ts", import.meta.url).pathname;

/** A database URL whose connections use `schema` as their search_path. */
export function urlWithSchema(base: string, schema: string): string {
  const url = new URL(base);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return url.toString();
}

/** Running benchmark nodes over their own schema and prefix. */
export class BenchCluster implements AsyncDisposable {
  readonly nodes: BenchNode[] = [];
  /** A small pool on the cluster's schema, for direct SQL. */
  readonly pool: pg.Pool;
  #disposed = false;

  private constructor(
    readonly o: ClusterOptions,
    readonly schema: string,
    readonly prefix: string,
    readonly schemaUrl: string,
  ) {
    this.pool = new pg.Pool({ connectionString: schemaUrl, max: 2 });
  }

  /** Creates the schema, starts the nodes and waits until they own every partition between them. */
  static async start(o: ClusterOptions): Promise<BenchCluster> {
    const tag = crypto.randomUUID().replaceAll("-", "").slice(0, 8);
    const schema = `bench_${tag}`;
    const admin = new pg.Client({ connectionString: o.databaseUrl });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    await admin.end();
    const cluster = new BenchCluster(
      o,
      schema,
      `bench${tag}`,
      urlWithSchema(o.databaseUrl, schema),
    );
    try {
      await Deno.mkdir(o.logDir, { recursive: true });
      for (let n = 1; n <= o.nodes; n++) cluster.nodes.push(await cluster.#spawn(`bench-${n}`));
      await cluster.#waitReady(o.readyTimeoutMs ?? 60_000);
      return cluster;
    } catch (err) {
      await cluster[Symbol.asyncDispose]();
      throw err;
    }
  }

  /** Asks every node to collect garbage (see serve.ts) and gives it time to do so. */
  async collectGarbage(): Promise<void> {
    for (const n of this.nodes) Deno.kill(n.pid, "SIGUSR2");
    await new Promise((r) => setTimeout(r, 1000));
  }

  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  async #spawn(id: string): Promise<BenchNode> {
    const port = freePort();
    const logFile = `${this.o.logDir}/${this.schema}-${id}.log`;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `--v8-flags=--expose-gc${this.o.nodeV8Flags ? `,${this.o.nodeV8Flags}` : ""}`,
        SERVE,
      ],
      cwd: this.o.logDir,
      env: {
        DATABASE_URL: this.schemaUrl,
        NATS_URL: this.o.natsUrl,
        NATS_PREFIX: this.prefix,
        NODE_ID: id,
        PORT: String(port),
        HOST: "127.0.0.1",
        PARTITIONS: String(this.o.partitions),
        LOG_LEVEL: "warn",
        BENCH_EXIT_WITH_PARENT: "1",
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const file = await Deno.open(logFile, { write: true, create: true, truncate: true });
    void mergeInto(file, [child.stdout, child.stderr]);
    return { id, url: `http://127.0.0.1:${port}`, pid: child.pid, logFile, child };
  }

  async #waitReady(timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    let stable = 0;
    let last = "";
    while (Date.now() < deadline) {
      const owned = await Promise.all(this.nodes.map(async (n) => {
        try {
          const res = await fetch(`${n.url}/readyz`);
          const body = await res.json() as { partitions?: number };
          return res.ok ? body.partitions ?? 0 : -1;
        } catch {
          return -1;
        }
      }));
      const total = owned.reduce((a, b) => a + b, 0);
      const settled = owned.every((p) => p > 0) && total === this.o.partitions;
      // Rebalancing hands partitions over in rounds: wait for the same split three polls running.
      stable = settled && owned.join(",") === last ? stable + 1 : 0;
      last = owned.join(",");
      if (stable >= 3) return;
      await new Promise((r) => setTimeout(r, 300));
    }
    throw new ClusterStartError(
      `Nodes did not settle within ${timeoutMs} ms (partitions owned: ${last}); see ${
        this.nodes.map((n) => n.logFile).join(", ")
      }`,
    );
  }

  async [Symbol.asyncDispose]() {
    if (this.#disposed) return;
    this.#disposed = true;
    await Promise.all(this.nodes.map((n) => stopChild(n.child)));
    await this.pool.end();
    const admin = new pg.Client({ connectionString: this.o.databaseUrl });
    await admin.connect();
    await admin.query(`drop schema if exists ${this.schema} cascade`);
    await admin.end();
    const nc = await connect({ servers: this.o.natsUrl });
    const jsm = await jetstreamManager(nc);
    for (const name of Object.values(streamNames(this.prefix))) {
      await jsm.streams.delete(name).catch(() => {});
    }
    await nc.close();
  }
}

/** SIGTERM (the node drains), then SIGKILL if it has not exited in time. */
async function stopChild(child: Deno.ChildProcess, timeoutMs = 30_000) {
  try {
    child.kill("SIGTERM");
  } catch {
    // already gone
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  await child.status;
  clearTimeout(timer);
}

async function mergeInto(file: Deno.FsFile, streams: ReadableStream<Uint8Array>[]) {
  await Promise.all(streams.map(async (s) => {
    for await (const chunk of s) {
      for (let off = 0; off < chunk.length;) off += await file.write(chunk.subarray(off));
    }
  })).catch(() => {});
  file.close();
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
