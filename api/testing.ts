/**
 * Test and benchmark support: an API on a test database and NATS prefix, a recording ingestion,
 * and a small client that signs up creators and sends requests through the `/v1` mount.
 */
import { Hono } from "hono";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { ActorClient, jsonLogger, type Logger } from "../runtime/mod.ts";
import { type TestDb, testDb, type TestNats, testNats } from "../tests/harness.ts";
import { type ApiDeps, createApi } from "./app.ts";
import type { Ingestion } from "./env.ts";

/** An `Ingestion` that only records what it was asked to do. */
export class RecordingIngestion implements Ingestion {
  readonly calls: Array<{ creatorId: string; documentId: string }> = [];
  enqueue(creatorId: string, documentId: string): Promise<void> {
    this.calls.push({ creatorId, documentId });
    return Promise.resolve();
  }
}

export interface TestApi extends AsyncDisposable {
  db: TestDb;
  nats: TestNats;
  actors: ActorClient;
  ingestion: RecordingIngestion;
  deletedDocuments: string[];
  deletedEndUsers: string[];
  /** Builds another app instance on the same database and NATS (a second node). */
  instance(overrides?: Partial<ApiDeps>): Hono;
  root: Hono;
  call(method: string, path: string, opts?: CallOptions): Promise<Response>;
  signup(email?: string): Promise<Session>;
}

export interface CallOptions {
  token?: string;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
  app?: Hono;
}

export interface Session {
  token: string;
  refreshToken: string;
  creatorId: string;
  memberId: string;
}

const quiet: Logger = jsonLogger("error");

/** A full API over a fresh schema and NATS prefix; dispose to drop them. */
export async function testApi(overrides: Partial<ApiDeps> = {}): Promise<TestApi> {
  const db = await testDb();
  const nats = await testNats();
  const jsm = await jetstreamManager(nats.nc);
  const { ensureStreams } = await import("../runtime/streams.ts");
  await ensureStreams(jsm, { prefix: nats.prefix, replicas: 1 });
  const actors = new ActorClient(nats.nc, jetstream(nats.nc), {
    prefix: nats.prefix,
    partitions: 8,
  });
  const ingestion = new RecordingIngestion();
  const deletedDocuments: string[] = [];
  const deletedEndUsers: string[] = [];
  const jwtSecret = crypto.getRandomValues(new Uint8Array(32));
  const secretsKey = crypto.getRandomValues(new Uint8Array(32));
  const instance = (more: Partial<ApiDeps> = {}) => {
    const root = new Hono();
    root.route(
      "/v1",
      createApi({
        pool: db.pool,
        actors,
        ingestion,
        onDocumentDeleted: (_c, id) => Promise.resolve(void deletedDocuments.push(id)),
        onEndUserDeleted: (_c, id) => Promise.resolve(void deletedEndUsers.push(id)),
        jwtSecret,
        secretsKey,
        log: quiet,
        trustProxy: true,
        rateLimit: { perKey: 100_000, perIp: 100_000 },
        ...overrides,
        ...more,
      }),
    );
    return root;
  };
  const root = instance();
  const call = (method: string, path: string, o: CallOptions = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    let body = o.body;
    if (o.json !== undefined) {
      headers["content-type"] ??= "application/json";
      body = JSON.stringify(o.json);
    }
    return Promise.resolve((o.app ?? root).request(`/v1${path}`, { method, headers, body }));
  };
  const signup = async (email = `${crypto.randomUUID().slice(0, 8)}@example.test`) => {
    const res = await call("POST", "/auth/signup", {
      json: { email, password: "correct horse battery", name: "Coach" },
    });
    if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${await res.text()}`);
    const t = await res.json();
    return {
      token: t.access_token,
      refreshToken: t.refresh_token,
      creatorId: t.creator_id,
      memberId: t.member_id,
    };
  };
  return {
    db,
    nats,
    actors,
    ingestion,
    deletedDocuments,
    deletedEndUsers,
    instance,
    root,
    call,
    signup,
    async [Symbol.asyncDispose]() {
      await actors[Symbol.asyncDispose]();
      await nats[Symbol.asyncDispose]();
      await db[Symbol.asyncDispose]();
    },
  };
}
