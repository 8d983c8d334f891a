/**
 * The ingestion work queue on JetStream: stream `<prefix>_work`, subject `<prefix>.work.ingest`.
 * Uploads enqueue; workers on any node consume; a message stays in the stream until its document
 * is ready or failed, so ingestion survives restarts.
 */
import type pg from "pg";
import type { NatsConnection } from "@nats-io/transport-node";
import { nanos } from "@nats-io/transport-node";
import {
  jetstream,
  jetstreamManager,
  type JsMsg,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { z } from "zod";
import { withTenant } from "../../db/tenant.ts";
import type { Logger } from "../../runtime/mod.ts";
import { type IngestDeps, ingestDocument, markFailed, removeDocument } from "./ingest.ts";
import { ExtractorPool, type ExtractorPoolOptions } from "./extractor_pool.ts";
import type { VectorStore } from "../store/vector_store.ts";
import { sharedDurable } from "../store/work_consumer.ts";

const Job = z.object({ creatorId: z.string().uuid(), documentId: z.string().uuid() });

/** What the admin API calls on upload, update and delete of a document. */
export interface IngestionQueue {
  /** Marks the document queued (its attempts start again from zero) and puts it on the queue. */
  enqueue(creatorId: string, documentId: string): Promise<void>;
  /** Removes the document's chunks from Chroma and Postgres. */
  onDocumentDeleted(creatorId: string, documentId: string): Promise<void>;
}

export function workNames(prefix: string) {
  return { stream: `${prefix}_work`, subject: `${prefix}.work.ingest`, durable: "ingest" };
}

/** Creates the work stream if needed. Idempotent. */
export async function ensureWorkStream(nc: NatsConnection, prefix: string, replicas = 1) {
  const jsm = await jetstreamManager(nc);
  const { stream } = workNames(prefix);
  const config = {
    name: stream,
    subjects: [`${prefix}.work.>`],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    num_replicas: replicas,
    duplicate_window: nanos(60_000),
  };
  try {
    await jsm.streams.info(stream);
  } catch {
    await jsm.streams.add(config);
  }
}

/**
 * The queue the admin API uses.
 *
 * @example
 * ```ts ignore
 * const queue = createIngestionQueue({ nc, prefix: "coachd", pool, store });
 * await queue.enqueue(creatorId, documentId);
 * ```
 */
export function createIngestionQueue(
  { nc, prefix, pool, store }: {
    nc: NatsConnection;
    prefix: string;
    pool: pg.Pool;
    store: VectorStore;
  },
): IngestionQueue {
  let ready: Promise<void> | undefined;
  const js = jetstream(nc);
  return {
    async enqueue(creatorId, documentId) {
      Job.parse({ creatorId, documentId });
      await (ready ??= ensureWorkStream(nc, prefix).catch((err) => {
        ready = undefined;
        throw err;
      }));
      await withTenant(pool, creatorId, (c) =>
        c.query(
          `update documents set status = 'queued', progress = 0, error = null, ingest_attempts = 0,
                  ingest_attempts_ended = 0, updated_at = now()
           where id = $1`,
          [documentId],
        ));
      await js.publish(workNames(prefix).subject, JSON.stringify({ creatorId, documentId }));
    },
    async onDocumentDeleted(creatorId, documentId) {
      Job.parse({ creatorId, documentId });
      await removeDocument({ pool, store }, creatorId, documentId);
    },
  };
}

export interface IngestionWorker extends AsyncDisposable {
  /** Documents this worker finished (ready, failed or gone) since it started. */
  readonly processed: number;
  stop(): Promise<void>;
}

/**
 * Consumes the work queue one document at a time (per worker) with explicit acks: a crash leaves
 * the message for the next worker; infrastructure errors are retried with back-off and, after
 * `maxDeliver` attempts, the document is marked failed with the last error. Files are read by
 * `deps.extractor` or, by default, by a pool of extractor processes the worker starts with
 * `extraction` (memory and time ceilings, limits) and stops with itself; a file that kills its
 * reader twice, or the node twice, is failed with that reason (see ingestDocument).
 */
export async function startIngestionWorker(
  deps: IngestDeps & { nc: NatsConnection; prefix: string; log: Logger },
  { maxDeliver = 5, ackWaitMs = 60_000, retryDelayMs = 2_000, extraction = {} }: {
    maxDeliver?: number;
    ackWaitMs?: number;
    retryDelayMs?: number;
    extraction?: ExtractorPoolOptions;
  } = {},
): Promise<IngestionWorker> {
  const { nc, prefix, log } = deps;
  await ensureWorkStream(nc, prefix);
  const names = workNames(prefix);
  const consumer = await sharedDurable(nc, {
    stream: names.stream,
    durable: names.durable,
    filter: names.subject,
    ackWaitMs,
    maxDeliver,
  });
  const messages = await consumer.consume({ max_messages: 1 });
  const ownPool = deps.extractor ? undefined : ExtractorPool.start({ log, ...extraction });
  const extractor = deps.extractor ?? ownPool!;
  let processed = 0;
  const handle = async (m: JsMsg) => {
    const parsed = Job.safeParse(safeJson(m.string()));
    if (!parsed.success) {
      log.warn("dropping malformed ingestion job", { data: m.string() });
      m.term();
      return;
    }
    const { creatorId, documentId } = parsed.data;
    const heartbeat = setInterval(() => m.working(), Math.max(1000, ackWaitMs / 3));
    try {
      const outcome = await ingestDocument({ ...deps, extractor }, creatorId, documentId);
      log.info("document ingested", { creatorId, documentId, ...outcome });
      processed++;
      m.ack();
    } catch (err) {
      const attempt = m.info.deliveryCount;
      log.warn("ingestion attempt failed", { documentId, attempt, error: String(err) });
      if (attempt >= maxDeliver) {
        await markFailed(
          deps.pool,
          creatorId,
          documentId,
          `Ingestion failed after ${attempt} attempts: ${(err as Error).message}`,
        ).catch(() => {});
        processed++;
        m.term();
      } else {
        m.nak(retryDelayMs * attempt);
      }
    } finally {
      clearInterval(heartbeat);
    }
  };
  const loop = (async () => {
    for await (const m of messages) await handle(m);
  })();
  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      await messages.close();
      await loop.catch(() => {});
      await ownPool?.close();
    })();
  return {
    get processed() {
      return processed;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
