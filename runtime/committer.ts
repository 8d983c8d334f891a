import type pg from "pg";

export interface StateWrite {
  t: string;
  i: string;
  p: number;
  v: number;
  s: unknown;
  /** keys of the messages applied last (`messageKey`) */
  r: number[];
}

export interface OutboxRow {
  id: string;
  p: number;
  subject: string;
  h: Record<string, string>;
  /** base64 payload */
  b: string;
}

export interface ReminderWrite {
  t: string;
  i: string;
  n: string;
  p: number;
  due: number;
  period: number | null;
  payload: unknown;
}

export interface ReminderCancel {
  t: string;
  i: string;
  n: string;
  p: number;
}

/** Everything one turn writes. */
export interface TurnWrite {
  partition: number;
  epoch: number;
  state?: StateWrite;
  outbox: OutboxRow[];
  reminders: ReminderWrite[];
  cancels: ReminderCancel[];
  /** Set when the turn erased the actor: its state row and reminders are deleted. */
  erase?: { t: string; i: string; p: number };
}

export type CommitOutcome = "committed" | "fenced";

interface Pending {
  write: TurnWrite;
  resolve: (o: CommitOutcome) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: turns that finish while a commit is in flight wait for the next one and all go
 * in a single `rt_commit` call (one round trip, one fsync). Throughput grows with concurrency
 * instead of being capped at one fsync per turn.
 */
export class Committer {
  readonly #pool: pg.Pool;
  readonly #node: string;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  #queue: Pending[] = [];
  #inFlight = 0;
  onBatch?: (size: number, ms: number) => void;

  readonly #mailbox: string;

  constructor(
    pool: pg.Pool,
    node: string,
    mailbox: string,
    { maxBatch = 512, maxInFlight = 2 } = {},
  ) {
    this.#pool = pool;
    this.#node = node;
    this.#mailbox = mailbox;
    this.#maxBatch = maxBatch;
    this.#maxInFlight = maxInFlight;
  }

  commit(write: TurnWrite): Promise<CommitOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ write, resolve, reject });
      this.#pump();
    });
  }

  #pump() {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      this.#inFlight++;
      this.#run(batch).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
  }

  async #run(batch: Pending[]) {
    const epochs: Record<string, number> = {};
    const states: StateWrite[] = [];
    const outbox: OutboxRow[] = [];
    const reminders: ReminderWrite[] = [];
    const cancels: ReminderCancel[] = [];
    const erased: { t: string; i: string; p: number }[] = [];
    for (const { write } of batch) {
      if (write.erase) erased.push(write.erase);
      epochs[write.partition] = write.epoch;
      if (write.state) states.push(write.state);
      outbox.push(...write.outbox);
      reminders.push(...write.reminders);
      cancels.push(...write.cancels);
    }
    const started = performance.now();
    try {
      const { rows } = await this.#pool.query<{ fenced: number[] }>(
        "select rt_commit($1::jsonb) as fenced",
        [JSON.stringify({
          node: this.#node,
          mailbox: this.#mailbox,
          epochs,
          states,
          outbox,
          reminders,
          cancels,
          erased,
        })],
      );
      const fenced = new Set(rows[0]?.fenced ?? []);
      this.onBatch?.(batch.length, performance.now() - started);
      for (const p of batch) p.resolve(fenced.has(p.write.partition) ? "fenced" : "committed");
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  get queued(): number {
    return this.#queue.length;
  }
}
