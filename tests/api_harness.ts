/**
 * Test and benchmark support: an API on a test database and NATS prefix, a recording ingestion,
 * and a small client that signs up creators and sends requests through the `/v1` mount.
 */
import { Hono } from "hono";
import { jetstreamManager } from "@nats-io/jetstream";
import {
  type ActorAddress,
  ActorSystem,
  type AnyActorDefinition,
  jsonLogger,
  type Logger,
} from "../runtime/mod.ts";
import { withSystem } from "../db/tenant.ts";
import { type TestDb, testDb, type TestNats, testNats } from "./harness.ts";
import { type ApiDeps, createApi } from "../api/app.ts";
import type { Ingestion } from "../api/env.ts";
import type { AccountMailer, AccountNotice } from "../api/auth/notices.ts";
import { natsAuthEvents } from "../api/auth/sessions.ts";

/** An `Ingestion` that only records what it was asked to do. */
export class RecordingIngestion implements Ingestion {
  readonly calls: Array<{ creatorId: string; documentId: string }> = [];
  enqueue(creatorId: string, documentId: string): Promise<void> {
    this.calls.push({ creatorId, documentId });
    return Promise.resolve();
  }
}

/** An `AccountMailer` that keeps what it was asked to send. */
export class RecordingMailer implements AccountMailer {
  readonly sent: AccountNotice[] = [];
  send(notice: AccountNotice): Promise<void> {
    this.sent.push(notice);
    return Promise.resolve();
  }
  /** The confirmation token last sent to `email`. */
  confirmationFor(email: string): string | undefined {
    const notice = this.sent.findLast((n) => n.kind === "signup_confirmation" && n.email === email);
    return notice?.kind === "signup_confirmation" ? notice.token : undefined;
  }
}

/** The envelopes (`{k, d}`) waiting in an actor's mailbox, oldest first. */
export async function mailbox(
  t: TestApi,
  to: ActorAddress,
): Promise<Array<{ k: string; d: unknown }>> {
  const jsm = await jetstreamManager(t.nats.nc);
  const stream = `${t.nats.prefix}_mailbox`;
  const subject = t.actors.client.subjectOf(to);
  const info = await jsm.streams.info(stream);
  const out: Array<{ k: string; d: unknown }> = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && seq > 0; seq++) {
    const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (msg?.subject === subject) out.push(msg.json());
  }
  return out;
}

/** Inserts an end user with one conversation of `messages` messages (what channels will do). */
export async function seedEndUser(
  t: TestApi,
  creatorId: string,
  { messages = 2, text = "hello coach" } = {},
): Promise<{ endUserId: string; conversationId: string }> {
  return await withSystem(t.db.pool, async (c) => {
    const { rows: [u] } = await c.query<{ id: string }>(
      `insert into end_users (creator_id, channel, external_id, display_name, email)
       values ($1, 'telegram', $2, 'Ada', 'ada@example.test') returning id`,
      [creatorId, crypto.randomUUID()],
    );
    const { rows: [conv] } = await c.query<{ id: string }>(
      `insert into conversations (creator_id, end_user_id, channel) values ($1, $2, 'telegram')
       returning id`,
      [creatorId, u!.id],
    );
    for (let i = 0; i < messages; i++) {
      await c.query(
        `insert into messages (creator_id, conversation_id, end_user_id, role, content)
         values ($1, $2, $3, $4, $5)`,
        [creatorId, conv!.id, u!.id, i % 2 ? "assistant" : "user", `${text} ${i}`],
      );
    }
    await c.query(
      `insert into engagement_metrics (creator_id, end_user_id, day, messages_in, sessions)
       values ($1, $2, current_date, $3, 1)`,
      [creatorId, u!.id, messages],
    );
    await c.query(
      `insert into user_interactions (creator_id, end_user_id, kind) values ($1, $2, 'opened')`,
      [creatorId, u!.id],
    );
    await c.query(
      `insert into achievements (creator_id, end_user_id, kind, title) values ($1, $2, 'streak', '3 days')`,
      [creatorId, u!.id],
    );
    return { endUserId: u!.id, conversationId: conv!.id };
  });
}

export interface TestApi extends AsyncDisposable {
  db: TestDb;
  nats: TestNats;
  actors: ActorSystem;
  ingestion: RecordingIngestion;
  mailer: RecordingMailer;
  deletedDocuments: string[];
  deletedEndUsers: string[];
  /** Builds another app instance on the same database and NATS (a second node). */
  instance(overrides?: Partial<ApiDeps>): Hono;
  root: Hono;
  call(method: string, path: string, opts?: CallOptions): Promise<Response>;
  signup(email?: string): Promise<Session>;
  /** Creates an API key with `role` for the session's creator and returns the key. */
  apiKey(session: Session, role: "admin" | "editor" | "viewer"): Promise<string>;
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
export async function testApi(
  overrides: Partial<ApiDeps> = {},
  { hostActors }: { hostActors?: AnyActorDefinition[] } = {},
): Promise<TestApi> {
  const db = await testDb();
  const nats = await testNats();
  // By default a client-only system: creates the mailbox streams, hosts no partitions, so told
  // messages stay in the mailbox where tests can read them. With `hostActors` it runs them.
  const system = await ActorSystem.start({
    pool: db.pool,
    nc: nats.nc,
    actors: hostActors ?? [],
    nodeId: "api-test",
    prefix: nats.prefix,
    partitions: 8,
    host: hostActors !== undefined,
    adminService: false,
    log: quiet,
  });
  const actors = system;
  const ingestion = new RecordingIngestion();
  const mailer = new RecordingMailer();
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
        validateResponses: true,
        mailer,
        // Instances of one test share a session-invalidation subject, as a cluster's nodes do.
        authEvents: natsAuthEvents(nats.nc, `${nats.prefix}.auth.sessions`),
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
    const asked = await call("POST", "/auth/signup", {
      json: { email, password: "correct horse battery", name: "Coach" },
    });
    if (asked.status !== 202) {
      throw new Error(`signup failed: ${asked.status} ${await asked.text()}`);
    }
    await asked.body?.cancel();
    const res = await call("POST", "/auth/signup/confirm", {
      json: { token: mailer.confirmationFor(email) },
    });
    if (res.status !== 201) throw new Error(`confirm failed: ${res.status} ${await res.text()}`);
    const t = await res.json();
    return {
      token: t.access_token,
      refreshToken: t.refresh_token,
      creatorId: t.creator_id,
      memberId: t.member_id,
    };
  };
  const apiKey = async (session: Session, role: "admin" | "editor" | "viewer") => {
    const res = await call("POST", "/api-keys", {
      token: session.token,
      json: { name: role, role },
    });
    if (res.status !== 201) throw new Error(`api key failed: ${res.status} ${await res.text()}`);
    return (await res.json()).key as string;
  };
  return {
    db,
    nats,
    apiKey,
    actors,
    ingestion,
    mailer,
    deletedDocuments,
    deletedEndUsers,
    instance,
    root,
    call,
    signup,
    async [Symbol.asyncDispose]() {
      await system.stop();
      await nats[Symbol.asyncDispose]();
      await db[Symbol.asyncDispose]();
    },
  };
}
