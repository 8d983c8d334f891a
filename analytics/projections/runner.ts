/**
 * The analytics projection: reads the events stream in order from its checkpoint and applies the
 * events in batches, each batch's rows and the new position in one transaction, so a crash
 * anywhere replays from the last committed position and applies nothing twice. One node at a
 * time projects (a Postgres advisory lock); the others wait to take over.
 */
import type pg from "pg";
import type { NatsConnection } from "@nats-io/transport-node";
import { DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import { type Clock, type Logger, realClock, streamNames } from "../../runtime/mod.ts";
import { withSystem } from "../../db/tenant.ts";
import { applyBatch, type KeySource, type StreamEvent } from "./apply.ts";
import type { AnalyticsMetrics } from "../metrics.ts";

export const PROJECTION = "analytics";
const MSG_ID = "Nats-Msg-Id";

export interface ProjectionOptions {
  pool: pg.Pool;
  nc: NatsConnection;
  prefix: string;
  keys: KeySource;
  log: Logger;
  clock?: Clock;
  /** Events applied per transaction at most (default 1,000). */
  batchSize?: number;
  /** How often a node without the lock tries to take it (default 5 s). */
  lockRetryMs?: number;
  /** How often an idle projection checks whether a rebuild reset its position (default 2 s). */
  resetCheckMs?: number;
  metrics?: AnalyticsMetrics;
}

export interface ProjectionStats {
  applied: number;
  duplicates: number;
  rejected: number;
  batches: number;
  /** Time spent committing batches (ms): the rest of the run is waiting for events. */
  commitMs: number;
  /** The stream sequence of the last committed batch. */
  position: number;
}

export interface Projection extends AsyncDisposable {
  readonly stats: ProjectionStats;
  /** Resolves once every event up to `seq` (default: the stream's last now) is committed. */
  caughtUp(seq?: number): Promise<void>;
  stop(): Promise<void>;
}

/** The position went back under a running projection (a rebuild): it starts over from there. */
export class ProjectionResetError extends Error {
  constructor(readonly position: number) {
    super(`The analytics projection was reset to stream position ${position}`);
    this.name = "ProjectionResetError";
  }
}

/** The stream sequence the projection has committed. */
export async function checkpointOf(pool: pg.Pool): Promise<number> {
  const { rows: [row] } = await pool.query<{ last_seq: string }>(
    "select last_seq from analytics_checkpoints where projection = $1",
    [PROJECTION],
  );
  return row ? Number(row.last_seq) : 0;
}

/** Applies `events` (in stream order) and moves the checkpoint, in one transaction. */
export async function commitBatch(
  pool: pg.Pool,
  keys: KeySource,
  events: StreamEvent[],
  { expectFrom }: { expectFrom?: number } = {},
) {
  return await withSystem(pool, async (client) => {
    // Rows and position commit together, so a commit lost in a crash is replayed from the
    // stream as a whole: this transaction need not wait for its WAL flush.
    await client.query("set local synchronous_commit = off");
    // The row lock orders concurrent writers; events at or before the position are done.
    await client.query(
      `insert into analytics_checkpoints (projection) values ($1) on conflict do nothing`,
      [PROJECTION],
    );
    const { rows: [cp] } = await client.query<{ last_seq: string }>(
      "select last_seq from analytics_checkpoints where projection = $1 for update",
      [PROJECTION],
    );
    const from = Number(cp!.last_seq);
    if (expectFrom !== undefined && from < expectFrom) throw new ProjectionResetError(from);
    const todo = events.filter((e) => e.seq > from);
    const outcome = await applyBatch(client, keys, todo);
    const last = Math.max(from, ...events.map((e) => e.seq));
    await client.query(
      `update analytics_checkpoints
          set last_seq = $2, applied = applied + $3, rejected = rejected + $4, updated_at = now()
        where projection = $1`,
      [PROJECTION, last, outcome.applied, outcome.rejected.length],
    );
    return { ...outcome, position: last };
  });
}

function toEvent(m: JsMsg, prefix: string): StreamEvent {
  let body: unknown = null;
  try {
    body = JSON.parse(m.string());
  } catch {
    // Not JSON: the catalog check rejects it.
  }
  return {
    id: m.headers?.get(MSG_ID) || `seq:${m.seq}`,
    seq: m.seq,
    subject: m.subject.slice(`${prefix}.evt.`.length),
    body,
    storedAt: Math.floor(m.info.timestampNanos / 1e6),
  };
}

/** Starts the projection loop on this node (it waits for the lock if another node holds it). */
export function startProjection(o: ProjectionOptions): Projection {
  const clock = o.clock ?? realClock;
  const batchSize = o.batchSize ?? 1000;
  const log = o.log.child({ component: "analytics-projection" });
  const stats: ProjectionStats = {
    applied: 0,
    duplicates: 0,
    rejected: 0,
    batches: 0,
    commitMs: 0,
    position: 0,
  };
  const stopper = new AbortController();
  const waiters = new Set<{ seq: number; resolve: () => void }>();
  const advance = (position: number) => {
    stats.position = position;
    for (const w of waiters) if (w.seq <= position) (waiters.delete(w), w.resolve());
  };
  let current: { stop(): Promise<void> | void } | undefined;

  const runWithLock = async () => {
    const from = await checkpointOf(o.pool);
    advance(from);
    const js = jetstream(o.nc);
    const consumer = await js.consumers.get(streamNames(o.prefix).events, {
      // Every event (one filter works on any server); those not projected are passed over.
      filter_subjects: `${o.prefix}.evt.>`,
      deliver_policy: from > 0 ? DeliverPolicy.StartSequence : DeliverPolicy.All,
      ...(from > 0 ? { opt_start_seq: from + 1 } : {}),
    });
    const messages = await consumer.consume({ max_messages: batchSize * 2 });
    current = { stop: () => messages.stop() };
    if (stopper.signal.aborted) messages.stop();
    // A rebuild resets the position while this consumer idles at the stream's end: look now and
    // then, and start over from the reset position.
    let reset: number | undefined;
    let watch = 0;
    const check = () => {
      watch = clock.setTimeout(async () => {
        const at = await checkpointOf(o.pool).catch(() => stats.position);
        if (o.metrics) {
          const last = await lastProjectedSeq(o.nc, o.prefix).catch(() => stats.position);
          o.metrics.lag.set(Math.max(0, last - stats.position));
        }
        if (at < stats.position) {
          reset = at;
          messages.stop();
        } else if (!stopper.signal.aborted) check();
      }, o.resetCheckMs ?? 2000);
    };
    check();
    try {
      let batch: StreamEvent[] = [];
      for await (const m of messages) {
        batch.push(toEvent(m, o.prefix));
        if (batch.length < batchSize && m.info.pending > 0) continue;
        const t0 = performance.now();
        const done = await commitBatch(o.pool, o.keys, batch, { expectFrom: stats.position });
        const took = performance.now() - t0;
        stats.commitMs += took;
        const mx = o.metrics;
        if (mx) {
          mx.batchSeconds.observe(took / 1000);
          mx.events.inc({ outcome: "applied" }, done.applied);
          mx.events.inc({ outcome: "duplicate" }, done.duplicates);
          mx.events.inc({ outcome: "rejected" }, done.rejected.length);
          for (const [event, n] of Object.entries(done.byName)) mx.business.inc({ event }, n);
          mx.position.set(done.position);
        }
        batch = [];
        stats.batches++;
        stats.applied += done.applied;
        stats.duplicates += done.duplicates;
        stats.rejected += done.rejected.length;
        for (const r of done.rejected) {
          log.warn("event does not match the catalog; passed over", {
            event_id: r.id,
            subject: r.subject,
            reason: r.reason,
          });
        }
        advance(done.position);
      }
    } finally {
      clock.clearTimeout(watch);
      await messages.close().catch(() => {});
    }
    if (reset !== undefined) throw new ProjectionResetError(reset);
  };

  const LOCK = "select pg_try_advisory_lock(hashtext('coachd:analytics-projection')) as ok";
  const UNLOCK = "select pg_advisory_unlock(hashtext('coachd:analytics-projection'))";
  const loop = (async () => {
    while (!stopper.signal.aborted) {
      let again = false;
      // The lock lives as long as this session: a node that dies lets another take over.
      const lockClient = await o.pool.connect().catch((err) => {
        log.warn("projection cannot reach postgres", { error: String(err) });
        return undefined;
      });
      let broken: Error | undefined;
      try {
        const { rows: [r] } = lockClient
          ? await lockClient.query<{ ok: boolean }>(LOCK)
          : { rows: [] };
        if (r?.ok) {
          try {
            await runWithLock();
          } finally {
            await lockClient!.query(UNLOCK).catch(() => {});
          }
        }
      } catch (err) {
        if (err instanceof ProjectionResetError) {
          log.info("projection reset; replaying", { position: err.position });
          again = true;
        } else if (!stopper.signal.aborted) {
          o.keys.knownCreators?.clear();
          log.warn("projection interrupted", { error: String(err) });
          broken = err instanceof Error ? err : new Error(String(err));
        }
      } finally {
        lockClient?.release(broken);
      }
      if (stopper.signal.aborted) break;
      if (!again) await pause(clock, o.lockRetryMs ?? 5000, stopper.signal);
    }
  })();

  const stop = async () => {
    stopper.abort();
    await current?.stop();
    await loop;
  };
  return {
    stats,
    async caughtUp(seq?: number) {
      const target = seq ?? await lastProjectedSeq(o.nc, o.prefix);
      if (stats.position >= target) return;
      await new Promise<void>((resolve) => waiters.add({ seq: target, resolve }));
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** The stream sequence of the newest event the projection reads (0 when there is none). */
export async function lastProjectedSeq(nc: NatsConnection, prefix: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(streamNames(prefix).events).catch(() => undefined);
  return info?.state.last_seq ?? 0;
}

function pause(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const handle = clock.setTimeout(done, ms);
    function done() {
      signal.removeEventListener("abort", abort);
      resolve();
    }
    function abort() {
      clock.clearTimeout(handle);
      resolve();
    }
    signal.addEventListener("abort", abort, { once: true });
  });
}

/** Waits until the committed position reaches the stream's newest projected event. */
export async function waitForCheckpoint(
  pool: pg.Pool,
  nc: NatsConnection,
  prefix: string,
  { pollMs = 100, timeoutMs = 60_000 } = {},
): Promise<number> {
  const target = await lastProjectedSeq(nc, prefix);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const at = await checkpointOf(pool);
    if (at >= target) return at;
    if (Date.now() > deadline) {
      throw new Error(`Analytics projection at ${at} did not reach ${target} in ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
