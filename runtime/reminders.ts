import type pg from "pg";
import type { JetStreamClient } from "@nats-io/jetstream";
import { mailboxSubject } from "./address.ts";
import { type Clock, sleep } from "./clock.ts";
import type { ReminderWrite } from "./committer.ts";
import { encodeEnvelope, H, makeHeaders } from "./envelope.ts";
import type { Logger } from "./logger.ts";
import { MinHeap } from "./min_heap.ts";

export interface DueReminder {
  type: string;
  id: string;
  name: string;
  partition: number;
  due: number;
  period: number | null;
  payload: { kind?: string; data?: unknown } | null;
}

export interface ReminderOptions {
  prefix: string;
  /** Only reminders due within this window are held in memory. */
  windowMs: number;
  maxPayload: number;
  onFired?: (latenessMs: number) => void;
}

const keyOf = (r: { type: string; id: string; name: string }) =>
  `${r.type}\u0000${r.id}\u0000${r.name}`;

/**
 * Durable reminders: rows in Postgres indexed by (partition, due_at). The node loads only the
 * reminders of its partitions due within the next window into a heap with one timer, so millions
 * of far-off reminders cost it nothing. A due reminder becomes a mailbox message whose id is
 * derived from (actor, name, due time): firing it twice after a failover is deduplicated.
 */
export class ReminderScheduler {
  readonly #pool: pg.Pool;
  readonly #js: JetStreamClient;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #o: ReminderOptions;
  /** Current entry per reminder key; heap entries that are not current are skipped. */
  readonly #current = new Map<string, DueReminder>();
  readonly #heap = new MinHeap<DueReminder>((r) => r.due);
  #timer?: number;
  #timerAt = Infinity;
  #horizon = 0;
  #stopped = false;
  #firing = false;
  readonly owned = new Set<number>();

  constructor(pool: pg.Pool, js: JetStreamClient, clock: Clock, log: Logger, o: ReminderOptions) {
    this.#pool = pool;
    this.#js = js;
    this.#clock = clock;
    this.#log = log;
    this.#o = o;
  }

  get held(): number {
    return this.#current.size;
  }

  /** Loads the next window for the given partitions (all owned ones when omitted). */
  async load(partitions: number[] = [...this.owned]): Promise<void> {
    if (partitions.length === 0) return;
    const horizon = this.#clock.now() + this.#o.windowMs;
    const { rows } = await this.#pool.query<
      {
        actor_type: string;
        actor_id: string;
        name: string;
        partition: number;
        due: string;
        period_ms: string | null;
        payload: DueReminder["payload"];
      }
    >(
      `select actor_type, actor_id, name, partition, (extract(epoch from due_at) * 1000)::float8 as due,
              period_ms, payload
       from rt_reminders where partition = any($1::int[]) and due_at < to_timestamp($2::float8 / 1000)`,
      [partitions, horizon],
    );
    for (const r of rows) {
      if (!this.owned.has(r.partition)) continue;
      this.#put({
        type: r.actor_type,
        id: r.actor_id,
        name: r.name,
        partition: r.partition,
        due: Number(r.due),
        period: r.period_ms === null ? null : Number(r.period_ms),
        payload: r.payload,
      });
    }
    this.#horizon = Math.max(this.#horizon, horizon);
    this.#arm();
  }

  /** Applies a committed turn's reminder changes to the in-memory window. */
  applyCommitted(sets: ReminderWrite[], cancels: { t: string; i: string; n: string }[]) {
    for (const c of cancels) this.#current.delete(keyOf({ type: c.t, id: c.i, name: c.n }));
    for (const s of sets) {
      const key = keyOf({ type: s.t, id: s.i, name: s.n });
      if (s.due >= this.#horizon) {
        this.#current.delete(key);
        continue;
      }
      this.#put({
        type: s.t,
        id: s.i,
        name: s.n,
        partition: s.p,
        due: s.due,
        period: s.period,
        payload: s.payload as DueReminder["payload"],
      });
    }
    this.#arm();
  }

  /** Forgets every in-memory reminder of one actor (after it was erased). */
  dropActor(type: string, id: string) {
    for (const [k, r] of this.#current) if (r.type === type && r.id === id) this.#current.delete(k);
  }

  /** Forgets the reminders of partitions this node no longer owns. */
  dropPartitions(partitions: number[]) {
    const gone = new Set(partitions);
    for (const p of partitions) this.owned.delete(p);
    for (const [k, r] of this.#current) if (gone.has(r.partition)) this.#current.delete(k);
  }

  #put(r: DueReminder) {
    const key = keyOf(r);
    const existing = this.#current.get(key);
    if (existing && existing.due === r.due) return;
    this.#current.set(key, r);
    this.#heap.push(r);
  }

  #arm() {
    if (this.#stopped) return;
    let top = this.#heap.peek();
    while (top && this.#current.get(keyOf(top)) !== top) {
      this.#heap.pop();
      top = this.#heap.peek();
    }
    if (!top) return;
    if (top.due >= this.#timerAt && this.#timer !== undefined) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timerAt = top.due;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      void this.#fireDue();
    }, Math.max(0, top.due - this.#clock.now()));
  }

  async #fireDue() {
    if (this.#firing || this.#stopped) return;
    this.#firing = true;
    try {
      for (;;) {
        const now = this.#clock.now();
        const due: DueReminder[] = [];
        while (due.length < 1000) {
          const top = this.#heap.peek();
          if (!top || top.due > now) break;
          this.#heap.pop();
          if (this.#current.get(keyOf(top)) === top) due.push(top);
        }
        if (due.length === 0) break;
        await this.#fire(due);
      }
    } catch (err) {
      this.#log.error("firing reminders failed; retrying", { error: String(err) });
      await sleep(this.#clock, 500);
    } finally {
      this.#firing = false;
      this.#arm();
    }
  }

  async #fire(due: DueReminder[]) {
    const published = await Promise.allSettled(due.map((r) => this.#publish(r)));
    const done: DueReminder[] = [];
    published.forEach((res, i) => {
      const r = due[i]!;
      if (res.status === "fulfilled") {
        done.push(r);
        this.#o.onFired?.(this.#clock.now() - r.due);
      } else {
        // Put it back: it is retried on the next arm.
        this.#log.warn("reminder publish failed; will retry", {
          name: r.name,
          error: String(res.reason),
        });
        this.#heap.push(r);
      }
    });
    if (done.length === 0) return;
    // One-shot rows go; periodic rows move to their next due time after now (keeping the period).
    const now = this.#clock.now();
    const nextDue = done.map((r) =>
      r.period && r.period > 0
        ? r.due + Math.max(1, Math.ceil((now - r.due + 1) / r.period)) * r.period
        : null
    );
    // Should this fail (a deadlock with a turn's commit, say), the fired reminders go back on the
    // heap and fire again after the pause: the same message id, so the mailbox takes them once.
    // Left off the heap they would stay due in the table and, being still current, never fire
    // again on this node (a periodic one would stop).
    await this.#pool.query(
      `with x as (select * from unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[])
                   as x(t, i, n, due, next))
       , del as (delete from rt_reminders r using x
                 where x.next is null and r.actor_type = x.t and r.actor_id = x.i and r.name = x.n
                   and r.due_at = to_timestamp(x.due / 1000))
       update rt_reminders r set due_at = to_timestamp(x.next / 1000) from x
       where x.next is not null and r.actor_type = x.t and r.actor_id = x.i and r.name = x.n
         and r.due_at = to_timestamp(x.due / 1000)`,
      [
        done.map((r) => r.type),
        done.map((r) => r.id),
        done.map((r) => r.name),
        done.map((r) => r.due),
        nextDue,
      ],
    ).catch((err) => {
      for (const r of done) if (this.#current.get(keyOf(r)) === r) this.#heap.push(r);
      throw err;
    });
    done.forEach((r, i) => {
      const key = keyOf(r);
      if (this.#current.get(key) !== r) return;
      const next = nextDue[i];
      if (next != null && next < this.#horizon) this.#put({ ...r, due: next });
      else this.#current.delete(key);
    });
  }

  #publish(r: DueReminder) {
    const kind = r.payload?.kind ?? r.name;
    return this.#js.publish(
      mailboxSubject(this.#o.prefix, r.partition, r.type, r.id),
      encodeEnvelope(kind, r.payload?.data, this.#o.maxPayload),
      {
        msgID: `rem:${r.type}:${r.id}:${r.name}:${r.due}`,
        headers: makeHeaders({ [H.due]: String(r.due), [H.reminder]: r.name }),
      },
    );
  }

  stop() {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
  }
}
