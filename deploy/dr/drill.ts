/**
 * The disaster-recovery drill on one machine: a Postgres with continuous WAL archiving, a real
 * node writing known data through its API (creators, knowledge, end users talking over Telegram)
 * and the drill's ledger actor (state, reminders, outbox); a base backup; more writes; a noted
 * recovery point; still more writes; the database destroyed; point-in-time recovery; the vector
 * index rebuilt from Postgres; and a check through the API that everything up to the recovery
 * point is there and consistent, and nothing after it. Returns the measured RPO and RTO.
 *
 * After the restore the node starts on fresh NATS streams and Chroma collections (a new prefix):
 * as after losing the whole site, the outbox relays what the restored database had not sent and
 * the vector index must be rebuilt, not found.
 */
import pg from "pg";
import { dirname } from "node:path";
import { Buffer } from "node:buffer";
import { jsonLogger } from "../../runtime/mod.ts";
import { loadConfig } from "../../app/config.ts";
import { type NodeHandle, startNode } from "../../app/node.ts";
import { knowledgeExtension, type KnowledgeHandle } from "../../app/knowledge.ts";
import { channelsExtension } from "../../app/channels.ts";
import { startFakeTelegram } from "../../tests/fakes/telegram.ts";
import { creatorSession, signUpCreator } from "../../tests/node_process.ts";
import {
  CHROMA_URL,
  deleteStreams,
  eventually,
  freePort,
  NATS_URL,
  testChroma,
  uniqueName,
  VECTOR_CACHE_DIR,
} from "../../tests/harness.ts";
import { startDrillPostgres } from "./pitr_postgres.ts";
import { drillLedger } from "./ledger_actor.ts";
import { tenantActorId, userActor } from "../../actors/mod.ts";
import { reindexAll, type ReindexReport } from "../reindex/reindex.ts";
import { DrillCheckError, type Snapshot, snapshot, verifyRestore } from "./verify.ts";

export { DrillCheckError };

export interface DrillOptions {
  /** End users talking per phase (each asks one question and gets an answer). */
  users?: number;
  /** Ledger entries per phase. */
  entries?: number;
  log?: (line: string) => void;
}

export interface DrillReport {
  /** Age of the newest archived WAL when the database was destroyed: what a real loss loses. */
  rpoMs: number;
  /** The configured bound on that age (`archive_timeout`). */
  rpoBoundS: number;
  /** From the destruction until the API showed the restored data, index rebuilt. */
  rtoMs: number;
  phases: Record<string, number>;
  recoveryTarget: string;
  kept: { creators: number; conversations: number; messages: number; ledger: number };
  dropped: { creators: number; conversations: number; ledger: number };
  reindex: ReindexReport;
}

const GUIDE = (topic: string) =>
  `# ${topic} guide

## Caffeine
Caffeine has a half-life of five to six hours. Stop drinking coffee by 2 pm so it does not keep
you awake at night.

## Naps
Keep naps short: twenty minutes at most, and before 3 pm.
`;

export async function runDrill(
  { users = 2, entries = 3, log = () => {} }: DrillOptions = {},
): Promise<DrillReport> {
  const archiveTimeoutS = 60;
  await using db = await startDrillPostgres({ port: freePort(), archiveTimeoutS, log });
  await using tg = startFakeTelegram({ floodLimits: false });
  await using stack = new AsyncDisposableStack();
  const mailDir = await Deno.makeTempDir({ prefix: "coachd-dr-mail-" });
  stack.defer(() => Deno.remove(mailDir, { recursive: true }));
  const secrets = {
    JWT_SECRET: Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64"),
    SECRETS_KEY: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64"),
  };
  const prefixes: string[] = [];
  stack.defer(async () => {
    const nc = await (await import("@nats-io/transport-node")).connect({ servers: NATS_URL });
    for (const p of prefixes) {
      await deleteStreams(nc, p);
      await Promise.resolve(testChroma(p)[Symbol.asyncDispose]()).catch(() => {});
    }
    await nc.close();
  });

  const startDrillNode = async () => {
    const prefix = uniqueName("dr");
    prefixes.push(prefix);
    const port = freePort();
    const url = `http://127.0.0.1:${port}`;
    const handle: KnowledgeHandle = {};
    const node = await startNode({
      config: loadConfig({
        ...secrets,
        MAIL_DROP_DIR: mailDir,
        PORT: String(port),
        HOST: "127.0.0.1",
        NODE_ID: "dr",
        NATS_PREFIX: prefix,
        PARTITIONS: "4",
        DATA_DIR: dirname(VECTOR_CACHE_DIR),
        LOG_LEVEL: "error",
        PUBLIC_URL: url,
        INBOUND_DEBOUNCE_MS: "50",
        TELEGRAM_API_URL: tg.url,
      }),
      databaseUrl: db.url,
      natsUrl: NATS_URL,
      actors: [drillLedger],
      log: jsonLogger("error"),
      extensions: [
        knowledgeExtension({ chromaUrl: CHROMA_URL, handle }),
        channelsExtension({}),
      ],
    });
    return { node, url, knowledge: handle };
  };

  const phases: Record<string, number> = {};
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      phases[name] = Math.round(performance.now() - t);
      log(`${name}: ${phases[name]} ms`);
    }
  };

  let first: Awaited<ReturnType<typeof startDrillNode>> | undefined = await timed(
    "first node start",
    startDrillNode,
  );
  stack.defer(() => first?.node.stop());
  const ledger = (node: NodeHandle) => node.system.ref(drillLedger, "ledger");
  const tags = { before: [] as string[], after: [] as string[] };
  const record = async (phase: "a" | "b" | "c" | "d") => {
    for (let i = 0; i < entries; i++) {
      const tag = `${phase}${i}`;
      await ledger(first!.node).ask("record", { tag });
      (phase === "a" || phase === "b" ? tags.before : tags.after).push(tag);
    }
  };

  // Phase A: a creator with knowledge and a Telegram bot; end users ask; ledger entries.
  const creators: { email: string; id: string; kbId: string; docId: string }[] = [];
  const newCreator = async () => {
    const email = `${crypto.randomUUID()}@example.test`;
    const s = await signUpCreator(first!.url, mailDir, email);
    const { kbId, docId } = await s.knowledge(GUIDE(email.slice(0, 8)));
    creators.push({ email, id: s.creatorId, kbId, docId });
    return s;
  };
  const talk = async (n: number, question: string) => {
    for (let i = 0; i < n; i++) {
      const person = tg.addUser({ first_name: `P${tg.bot.sentMessages.length}${i}` });
      await tg.deliverUpdate(tg.bot.token, tg.bot.updates.start(person));
      await tg.deliverUpdate(tg.bot.token, tg.bot.updates.text(person, question));
      await eventually(() => tg.bot.sentMessages(person.id).length >= 2, {
        timeoutMs: 30_000,
        what: "the coach's answer",
      });
    }
  };
  let profiled = 0;
  const owner = await timed("phase A writes", async () => {
    const s = await newCreator();
    const channel = await s.call("POST", "/channels", {
      kind: "telegram",
      name: "Coach bot",
      bot_token: tg.bot.token,
    });
    if (!channel?.id) throw new DrillCheckError("the Telegram channel was not connected");
    await talk(users, "Until what time can I drink coffee?");
    // Profiles are indexed too (in Chroma, rebuilt from the user actors' state).
    const people = (await s.call("GET", "/end-users?limit=100")).data as { id: string }[];
    for (const p of people) {
      await first!.node.system.ref(userActor(), tenantActorId(s.creatorId, p.id)).ask(
        "updateProfile",
        { goals: ["sleep through the night"] },
      );
    }
    profiled = people.length;
    await record("a");
    return s;
  });

  const backup = await timed("base backup", () => db.baseBackup());
  log(`base backup ${backup.startLsn} .. ${backup.stopLsn}`);

  await timed("phase B writes", async () => {
    await newCreator();
    await talk(users, "How long should a nap be?");
    await record("b");
  });
  // What the API shows at the recovery point: the restore must show exactly this.
  const expected: Snapshot = await snapshot(first.url, owner.token);
  await settle();
  const target = await dbNow(db.url);
  await settle();
  log(`recovery target ${target.toISOString()}`);

  const keptCreators = creators.length;
  await timed("phase C writes", async () => {
    await newCreator();
    await talk(1, "Can I drink coffee at night?");
    await record("c");
  });
  const archived = await db.archiveNow();
  // Written after the last archived segment: a real disaster loses these (the RPO).
  await record("d");

  const lostCreators = creators.slice(keptCreators);
  await first.node.stop();
  first = undefined;
  const destroyedAt = performance.now();
  const destroyedWall = Date.now();
  await db.destroy();
  log("database destroyed");
  const rpoMs = destroyedWall - archived.archivedAt.getTime();

  await timed("point-in-time recovery", () => db.restoreTo(target));
  const second = await timed("node start", startDrillNode);
  stack.defer(() => second.node.stop());
  const reindex = await timed("reindex", async () => {
    const k = second.knowledge.knowledge!;
    return await reindexAll({ pool: second.node.pool, store: k.store, embedder: k.embedder });
  });
  const kept = await timed("verify", () =>
    verifyRestore({
      url: second.url,
      pool: second.node.pool,
      expected,
      owner,
      kept: creators.slice(0, keptCreators),
      lost: lostCreators,
      ledger: () => ledger(second.node).ask("get", null),
      tags,
      store: second.knowledge.knowledge!.store,
    }));
  const rtoMs = Math.round(performance.now() - destroyedAt);
  if (reindex.profiles !== profiled) {
    throw new DrillCheckError(`${reindex.profiles} profiles reindexed, ${profiled} expected`);
  }
  const store = second.knowledge.knowledge!.store;
  if ((await store.count("profiles", owner.creatorId)) !== profiled) {
    throw new DrillCheckError("the profiles are not back in the vector index");
  }
  return {
    rpoMs,
    rpoBoundS: archiveTimeoutS,
    rtoMs,
    phases,
    recoveryTarget: target.toISOString(),
    kept: { ...kept, ledger: tags.before.length },
    dropped: { creators: lostCreators.length, conversations: 1, ledger: tags.after.length },
    reindex,
  };
}

/** Postgres's clock: recovery compares commit timestamps, which come from it. */
async function dbNow(url: string): Promise<Date> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<{ now: Date }>("select clock_timestamp() as now")).rows[0]!.now;
  } finally {
    await c.end();
  }
}

/** Lets commits in flight land on their side of the recovery point. */
const settle = () => new Promise((r) => setTimeout(r, 300));

export { creatorSession };
