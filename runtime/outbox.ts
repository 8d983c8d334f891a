import type pg from "pg";
import type { JetStreamClient } from "@nats-io/jetstream";
import { decodeBase64 } from "./base64.ts";
import type { StagedTell } from "./client.ts";
import type { OutboxRow } from "./committer.ts";
import { makeHeaders } from "./envelope.ts";
import type { Logger } from "./logger.ts";
import { trace } from "@opentelemetry/api";

const tracer = trace.getTracer("coachd-runtime");

/**
 * Publishes committed outbox rows to JetStream with `Nats-Msg-Id` = row id, then deletes them.
 * Rows are published right after their commit; `sweep` republishes what a crash left behind, and
 * the server's duplicate window drops any second copy.
 */
export class OutboxRelay {
  readonly #pool: pg.Pool;
  readonly #js: JetStreamClient;
  readonly #log: Logger;
  #toDelete: string[] = [];
  #flushing?: Promise<void>;

  constructor(pool: pg.Pool, js: JetStreamClient, log: Logger) {
    this.#pool = pool;
    this.#js = js;
    this.#log = log;
  }

  /** Publishes rows just committed; failures are left for the sweep. */
  publish(rows: OutboxRow[]): Promise<void> {
    return this.#publish(
      rows.map((r) => ({ id: r.id, subject: r.subject, headers: r.h, payload: decodeBase64(r.b) })),
    );
  }

  /** Publishes tells staged by `ActorClient.tellWithin` once their transaction committed. */
  publishStaged(tells: readonly StagedTell[]): Promise<void> {
    return this.#publish(tells.map((t) => ({ ...t, headers: {} })));
  }

  async #publish(
    rows: { id: string; subject: string; headers: Record<string, string>; payload: Uint8Array }[],
  ): Promise<void> {
    if (rows.length === 0) return;
    const span = tracer.startSpan("outbox.publish", { attributes: { "outbox.rows": rows.length } });
    const results = await Promise.allSettled(
      rows.map((r) =>
        this.#js.publish(r.subject, r.payload, {
          msgID: r.id,
          headers: makeHeaders(r.headers),
        })
      ),
    );
    span.end();
    results.forEach((res, i) => {
      if (res.status === "fulfilled") this.#toDelete.push(rows[i]!.id);
      else {
        this.#log.warn("outbox publish failed; the sweep will retry", {
          error: String(res.reason),
        });
      }
    });
    this.#flushing ??= this.#flush();
  }

  async #flush() {
    // Let more turns' deletes join this one (real time: I/O batching, not a wait of the actors).
    await new Promise((r) => setTimeout(r, 5));
    while (this.#toDelete.length > 0) {
      const ids = this.#toDelete.splice(0, 2000);
      try {
        await this.#pool.query("delete from rt_outbox where id = any($1::text[])", [ids]);
      } catch (err) {
        this.#log.warn("outbox delete failed; rows will be republished", { error: String(err) });
      }
    }
    this.#flushing = undefined;
  }

  /** Republishes rows older than `minAgeMs` for the given partitions. Returns how many. */
  async sweep(partitions: number[], minAgeMs = 2000): Promise<number> {
    if (partitions.length === 0) return 0;
    const { rows } = await this.#pool.query<
      {
        id: string;
        partition: number;
        subject: string;
        headers: Record<string, string>;
        payload: Uint8Array;
      }
    >(
      `select id, partition, subject, headers, payload from rt_outbox
       where partition = any($1::int[]) and created_at < now() - make_interval(secs => $2::float8 / 1000)
       order by created_at limit 1000`,
      [partitions, minAgeMs],
    );
    const published: string[] = [];
    for (const r of rows) {
      try {
        await this.#js.publish(r.subject, r.payload, {
          msgID: r.id,
          headers: makeHeaders(r.headers),
        });
        published.push(r.id);
      } catch (err) {
        this.#log.warn("outbox sweep publish failed", { id: r.id, error: String(err) });
        break;
      }
    }
    if (published.length > 0) {
      await this.#pool.query("delete from rt_outbox where id = any($1::text[])", [published]);
    }
    return published.length;
  }

  async backlog(): Promise<number> {
    const { rows } = await this.#pool.query<{ n: string }>("select count(*) n from rt_outbox");
    return Number(rows[0]?.n ?? 0);
  }

  async flushed(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }
}
