/**
 * The vector index of conversation memories and user profiles: actors record what should be
 * indexed or erased with `ctx.emit`, and a worker applies it to Chroma once the turn committed.
 *
 * Feed: the events stream `<prefix>_events`, subjects `<prefix>.evt.index.<collection>.<op>`,
 * through one durable consumer (`vector-index`) that every node's worker shares, so each event is
 * applied by one of them. `ctx.emit` already goes through the runtime's transactional outbox (an
 * event is published if and only if its turn commits, and again after a crash), so actors need
 * nothing new from the runtime; a work-queue stream of its own would need a second kind of
 * outbox destination there (two streams cannot share subjects). The events stream keeps 7 days;
 * the durable consumer remembers what was acknowledged, so a worker that stops or crashes picks
 * up where it was. A put is acknowledged after its Chroma write and records have deterministic
 * ids, so a redelivery rewrites the same record.
 *
 * Order is not relied on: stream order is not commit order (an outbox row whose publish failed
 * is republished by the sweep after later turns' rows), a nak or an ack timeout redelivers an
 * event after later ones, and several workers apply events at once. Instead each life of an
 * actor has a generation (a random uuid in its state, carried by its events and records). An
 * erase marks its generation erased in `vector_index_marks` before deleting the generation's
 * records, and a put of an erased generation is dropped. A put holds its generation's mark row
 * locked from before its Chroma write until after it, so an erase either waits and then deletes
 * what the put wrote, or comes first and the put is dropped. A life after an erase has a new
 * generation, so a late erase of the old one leaves the new records alone. A record that is
 * replaced (a profile) is put with a version, and a version older than the mark's is dropped.
 *
 * An event that cannot be parsed goes to the dead-letter stream `<prefix>_dead` at once; one that
 * keeps failing is retried with back-off and dead-lettered after `maxDeliver` attempts, with its
 * reason (`nats req <prefix>.admin.dead.list`, `dead.replay` sends it back to its subject).
 */
import type pg from "pg";
import type { NatsConnection } from "@nats-io/transport-node";
import { type JsMsg } from "@nats-io/jetstream";
import { z } from "zod";
import { type DeadLetters, type Logger, streamNames } from "../../runtime/mod.ts";
import type { Embedder } from "../models/models.ts";
import type { VectorStore } from "./vector_store.ts";
import { withSystem } from "../../db/tenant.ts";
import { sharedDurable } from "./work_consumer.ts";

/** The collections the index writes (chunks belong to ingestion). */
export const INDEXED_COLLECTIONS = ["memories", "profiles"] as const;
export type IndexedCollection = typeof INDEXED_COLLECTIONS[number];
export type IndexOp = "put" | "erase";

/** The event subject (under `<prefix>.evt.`) an actor emits for `op` on `collection`. */
export function indexSubject(collection: IndexedCollection, op: IndexOp): string {
  return `index.${collection}.${op}`;
}

const Generation = z.string().uuid();
const Target = {
  creatorId: z.string().uuid(),
  /** The indexed document: the id of the actor the records belong to. */
  documentId: z.string().min(1).max(500),
  gen: Generation,
};

/** Index (or re-index) one record of a document. */
export const IndexPut = z.object({
  ...Target,
  /** Deterministic, so a redelivered or repeated put rewrites the same record. */
  id: z.string().min(1).max(1000),
  text: z.string().min(1).max(50_000),
  /** For a record that is replaced over time: a put older than one applied is dropped. */
  version: z.number().int().min(0).optional(),
  meta: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});
export type IndexPut = z.infer<typeof IndexPut>;

/** Remove a document's records of one generation; later puts of that generation are dropped. */
export const IndexErase = z.object(Target);
export type IndexErase = z.infer<typeof IndexErase>;

export interface VectorIndexDeps {
  pool: pg.Pool;
  store: VectorStore;
  embedder: Embedder;
}

export type IndexOutcome = "applied" | "dropped";

// A put stuck in its Chroma write must not hold its generation for ever: waiting for the lock
// gives up after 10 s (the event is retried later), and the server ends a transaction left idle
// for a minute, which releases the lock (the stuck put then fails and is retried).
const TX_LIMITS =
  "set local lock_timeout = '10s'; set local idle_in_transaction_session_timeout = '60s'";

/**
 * Applies one index event: a put embeds and upserts unless its generation was erased or a newer
 * version was applied; an erase marks the generation and deletes its records. Idempotent.
 */
export async function applyIndexEvent(
  deps: VectorIndexDeps,
  collection: IndexedCollection,
  op: IndexOp,
  data: unknown,
): Promise<IndexOutcome> {
  return op === "put"
    ? await put(deps, collection, IndexPut.parse(data))
    : await erase(deps, collection, IndexErase.parse(data));
}

async function put(
  deps: VectorIndexDeps,
  collection: IndexedCollection,
  e: IndexPut,
): Promise<IndexOutcome> {
  // Embedding first, outside the lock: it is the slow part and needs no order.
  const [embedding] = await deps.embedder.embed([e.text]);
  if (!embedding?.length) throw new Error(`embedder ${deps.embedder.id} returned no vector`);
  return await withSystem(deps.pool, async (client) => {
    await client.query(TX_LIMITS);
    // Takes (and holds until commit) the generation's row lock; an erase waits for it.
    const { rows: [mark] } = await client.query<{ erased: boolean; version: string | null }>(
      `insert into vector_index_marks (gen, version) values ($1, null)
       on conflict (gen) do update set touched_at = now()
       returning erased_at is not null as erased, version`,
      [e.gen],
    );
    const stale = e.version !== undefined && mark!.version !== null &&
      Number(mark!.version) >= e.version;
    if (mark!.erased || stale) return "dropped";
    await deps.store.upsert(collection, [{
      id: e.id,
      embedding,
      text: e.text,
      meta: {
        ...e.meta,
        creator_id: e.creatorId,
        knowledge_base_id: "",
        document_id: e.documentId,
        gen: e.gen,
      },
    }]);
    if (e.version !== undefined) {
      await client.query("update vector_index_marks set version = $2 where gen = $1", [
        e.gen,
        e.version,
      ]);
    }
    return "applied";
  });
}

async function erase(
  deps: VectorIndexDeps,
  collection: IndexedCollection,
  e: IndexErase,
): Promise<IndexOutcome> {
  // The mark is committed before the delete (waiting for any put holding the row), so no put of
  // this generation lands afterwards; a retry after a failed delete only deletes again.
  await withSystem(deps.pool, async (client) => {
    await client.query(TX_LIMITS);
    await client.query(
      `insert into vector_index_marks (gen, erased_at) values ($1, now())
       on conflict (gen) do update
         set erased_at = coalesce(vector_index_marks.erased_at, now()), touched_at = now()`,
      [e.gen],
    );
  });
  await deps.store.deleteGeneration(collection, e.creatorId, e.documentId, e.gen);
  return "applied";
}

export function vectorIndexNames(prefix: string) {
  return {
    stream: streamNames(prefix).events,
    filter: `${prefix}.evt.index.>`,
    durable: "vector-index",
  };
}

export interface VectorIndexWorker extends AsyncDisposable {
  /** Events this worker applied, dropped (erased or stale) and dead-lettered since it started. */
  readonly stats: { applied: number; dropped: number; deadLettered: number };
  stop(): Promise<void>;
}

export interface VectorIndexOptions {
  /** Attempts before an event that keeps failing is dead-lettered. */
  maxDeliver?: number;
  ackWaitMs?: number;
  /** Back-off of the first retry; it doubles with every attempt, up to `maxRetryDelayMs`. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Events pulled ahead by this worker. */
  batch?: number;
  /** Marks untouched this long are pruned (far beyond the events stream's 7 days). */
  keepMarksDays?: number;
}

/**
 * Starts a worker on the shared durable consumer. The actor system must have created the event
 * and dead-letter streams (start it first, as a node does).
 */
export async function startVectorIndexWorker(
  deps: VectorIndexDeps & {
    nc: NatsConnection;
    prefix: string;
    log: Logger;
    deadLetters: DeadLetters;
  },
  {
    maxDeliver = 5,
    ackWaitMs = 30_000,
    retryDelayMs = 1000,
    maxRetryDelayMs = 60_000,
    batch = 8,
    keepMarksDays = 30,
  }: VectorIndexOptions = {},
): Promise<VectorIndexWorker> {
  const { nc, prefix, deadLetters } = deps;
  const log = deps.log.child({ component: "vector-index" });
  const names = vectorIndexNames(prefix);
  const consumer = await sharedDurable(nc, {
    stream: names.stream,
    durable: names.durable,
    filter: names.filter,
    ackWaitMs,
    maxDeliver,
  });
  const messages = await consumer.consume({ max_messages: batch });
  const stats = { applied: 0, dropped: 0, deadLettered: 0 };
  const subjectPrefix = `${prefix}.evt.index.`;

  const deadLetter = async (m: JsMsg, reason: string) => {
    try {
      await deadLetters.put({ subject: m.subject, data: m.data, headers: headersOf(m), reason });
    } catch (err) {
      log.error("could not dead-letter an index event; it will come again", {
        subject: m.subject,
        reason,
        error: String(err),
      });
      m.nak(retryDelayMs);
      return;
    }
    stats.deadLettered++;
    log.warn("index event dead-lettered", { subject: m.subject, seq: m.seq, reason });
    m.term(reason.slice(0, 200));
  };

  const handle = async (m: JsMsg) => {
    const [collection, op, ...rest] = m.subject.slice(subjectPrefix.length).split(".");
    if (
      rest.length || !INDEXED_COLLECTIONS.includes(collection as IndexedCollection) ||
      (op !== "put" && op !== "erase")
    ) {
      return await deadLetter(m, `unknown index event subject ${m.subject}`);
    }
    let data: unknown;
    try {
      data = JSON.parse(m.string());
    } catch {
      return await deadLetter(m, "malformed index event: body is not JSON");
    }
    const parsed = (op === "put" ? IndexPut : IndexErase).safeParse(data);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) =>
        `${i.path.join(".") || "(event)"}: ${i.message}`
      );
      return await deadLetter(m, `malformed index event: ${issues.join("; ")}`);
    }
    const attempt = m.info.deliveryCount;
    if (attempt > maxDeliver) return await deadLetter(m, `exceeded ${maxDeliver} deliveries`);
    const heartbeat = setInterval(() => m.working(), Math.max(1000, ackWaitMs / 3));
    try {
      const outcome = await applyIndexEvent(deps, collection as IndexedCollection, op, parsed.data);
      stats[outcome]++;
      m.ack();
    } catch (err) {
      log.warn("index event failed", { subject: m.subject, attempt, error: String(err) });
      if (attempt >= maxDeliver) {
        await deadLetter(m, `failed ${attempt} times, last: ${String(err)}`);
      } else {
        m.nak(Math.min(maxRetryDelayMs, retryDelayMs * 2 ** (attempt - 1)));
      }
    } finally {
      clearInterval(heartbeat);
    }
  };

  const prune = () =>
    deps.pool.query(
      "delete from vector_index_marks where touched_at < now() - make_interval(days => $1)",
      [keepMarksDays],
    ).catch((err) => log.warn("pruning index marks failed", { error: String(err) }));
  let pruned = prune();
  const pruning = setInterval(() => pruned = prune(), 3600_000);

  const loop = (async () => {
    for await (const m of messages) {
      await handle(m).catch((err) => {
        // Not acked: it comes again after ack_wait.
        log.error("index event handling broke", { subject: m.subject, error: String(err) });
      });
    }
  })();
  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      clearInterval(pruning);
      await messages.close();
      await loop.catch(() => {});
      await pruned;
    })();
  return { stats, stop, [Symbol.asyncDispose]: stop };
}

function headersOf(m: JsMsg): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of m.headers ?? []) if (v[0] !== undefined) out[k] = v[0];
  return out;
}
