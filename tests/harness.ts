/**
 * Shared test harness: real Postgres and NATS JetStream on loopback, each test in its own
 * database schema and stream prefix so tests can run side by side.
 */
import pg from "pg";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { ChromaClient } from "chromadb";
import { migrate } from "../db/migrate.ts";

export const DATABASE_URL = Deno.env.get("TEST_DATABASE_URL") ??
  "postgres://postgres@127.0.0.1:5432/test";
export const NATS_URL = Deno.env.get("TEST_NATS_URL") ?? "nats://127.0.0.1:4222";
/** Chroma for tests: `deno task test` (tests/run_tests.ts) starts one there if none answers. */
export const CHROMA_URL = Deno.env.get("TEST_CHROMA_URL") ?? "http://127.0.0.1:18000";
/** Where tests keep the word-vector cache (built once from the npm package, then reused). */
export const VECTOR_CACHE_DIR = Deno.env.get("TEST_VECTOR_CACHE_DIR") ??
  new URL("../.data/vectors", import.meta.url).pathname;

export function uniqueName(prefix: string): string {
  return `${prefix}${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
}

/** A database URL whose connections use `schema` as their search_path. */
export function urlWithSchema(schema: string, base = DATABASE_URL): string {
  const url = new URL(base);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return url.toString();
}

export interface TestDb extends AsyncDisposable {
  schema: string;
  url: string;
  pool: pg.Pool;
}

/** A fresh schema with every migration applied; dropped on dispose. */
export async function testDb({ migrateIt = true, max = 10 } = {}): Promise<TestDb> {
  const schema = uniqueName("t_");
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const url = urlWithSchema(schema);
  const pool = new pg.Pool({ connectionString: url, max });
  if (migrateIt) await migrate(pool);
  return {
    schema,
    url,
    pool,
    async [Symbol.asyncDispose]() {
      await pool.end();
      const c = new pg.Client({ connectionString: DATABASE_URL });
      await c.connect();
      await c.query(`drop schema ${schema} cascade`);
      await c.end();
    },
  };
}

export interface TestNats extends AsyncDisposable {
  nc: NatsConnection;
  prefix: string;
}

/** A NATS connection and a unique prefix; the prefix's streams are deleted on dispose. */
export async function testNats(): Promise<TestNats> {
  const prefix = uniqueName("t");
  const nc = await connect({ servers: NATS_URL });
  return {
    nc,
    prefix,
    async [Symbol.asyncDispose]() {
      await deleteStreams(nc, prefix);
      await nc.close();
    },
  };
}

export async function deleteStreams(nc: NatsConnection, prefix: string) {
  const jsm = await jetstreamManager(nc);
  for (const suffix of ["mailbox", "dead", "events", "work"]) {
    await jsm.streams.delete(`${prefix}_${suffix}`).catch(() => {});
  }
}

export interface TestChroma extends AsyncDisposable {
  url: string;
  client: ChromaClient;
  /** Prefix for this test's collection names; its collections are deleted on dispose. */
  prefix: string;
}

/** A client of the test Chroma server and a unique collection prefix, cleaned up on dispose. */
export function testChroma(prefix = uniqueName("t")): TestChroma {
  const url = new URL(CHROMA_URL);
  const client = new ChromaClient({
    host: url.hostname,
    port: Number(url.port || 8000),
    ssl: url.protocol === "https:",
  });
  return {
    url: CHROMA_URL,
    client,
    prefix,
    async [Symbol.asyncDispose]() {
      const all = await client.listCollections({ limit: 1000 });
      for (const c of all) {
        if (c.name.startsWith(prefix)) await client.deleteCollection({ name: c.name });
      }
    },
  };
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 50, what = "condition" } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last as NonNullable<T>;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `Timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`,
  );
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP port free on loopback right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
