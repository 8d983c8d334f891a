/**
 * Inbound messages per creator and month, counted without making every message wait for one
 * contended row. Each node keeps the month's count as last read plus what it took in since; it
 * decides from that at once and writes its increments behind, one upsert at a time per creator
 * (everything that arrived during a write goes in the next). Nodes see each other's counts with
 * each write's answer, so the quota holds across a cluster to within one round trip of traffic.
 */
import type pg from "pg";
import type { Logger } from "../../runtime/mod.ts";
import { withSystem } from "../../db/tenant.ts";

interface Entry {
  month: string;
  /** The month's count as Postgres last said (all nodes). */
  stored: number;
  /** Taken in here and not yet written. */
  pending: number;
  /** Being written now. */
  writing: number;
  flight?: Promise<void>;
}

export class MessageCounter {
  readonly #entries = new Map<string, Entry>();
  constructor(
    private readonly pool: pg.Pool,
    private readonly log: Logger,
    private readonly max = 50_000,
  ) {}

  /** Counts one message; returns the month's count including it. */
  async add(creatorId: string, month: string): Promise<number> {
    let e = this.#entries.get(creatorId);
    if (!e || e.month !== month) e = await this.#load(creatorId, month);
    e.pending++;
    const total = e.stored + e.writing + e.pending;
    e.flight ??= this.#flush(creatorId, e);
    return total;
  }

  readonly #loading = new Map<string, Promise<Entry>>();

  /** The month's entry, read once however many messages wait for it. */
  #load(creatorId: string, month: string): Promise<Entry> {
    const key = `${creatorId}:${month}`;
    let p = this.#loading.get(key);
    if (!p) {
      p = (async () => {
        const { rows: [r] } = await withSystem(this.pool, (c) =>
          c.query<{ messages: number }>(
            "select messages from usage_monthly where creator_id = $1 and month = $2",
            [creatorId, month],
          ));
        const e: Entry = { month, stored: r?.messages ?? 0, pending: 0, writing: 0 };
        this.#entries.set(creatorId, e);
        if (this.#entries.size > this.max) this.#entries.delete(this.#entries.keys().next().value!);
        return e;
      })().finally(() => this.#loading.delete(key));
      this.#loading.set(key, p);
    }
    return p;
  }

  /** Resolves once every increment taken so far is written. */
  async settled(): Promise<void> {
    for (const e of this.#entries.values()) while (e.flight) await e.flight;
  }

  async #flush(creatorId: string, e: Entry): Promise<void> {
    try {
      while (e.pending > 0) {
        e.writing = e.pending;
        e.pending = 0;
        try {
          const { rows: [r] } = await withSystem(this.pool, (c) =>
            c.query<{ messages: number }>(
              `insert into usage_monthly (creator_id, month, messages) values ($1, $2, $3)
               on conflict (creator_id, month)
                 do update set messages = usage_monthly.messages + excluded.messages
               returning messages`,
              [creatorId, e.month, e.writing],
            ));
          e.stored = r!.messages;
          e.writing = 0;
        } catch (err) {
          // Kept for the next message's write; the count is short meanwhile, never lost.
          e.pending += e.writing;
          e.writing = 0;
          this.log.warn("message count not written", { error: String(err) });
          return;
        }
      }
    } finally {
      e.flight = undefined;
    }
  }
}
