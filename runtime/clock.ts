/**
 * Time as the runtime sees it: real by default, replaceable in tests and simulations.
 *
 * Every wait that means something in the actors' time goes through it: reminders, `ctx.setTimer`
 * timers, passivation of idle actors, the membership loop (heartbeats, lease renewal, taking and
 * handing over partitions), retries and their backoff, the outbox sweep, ask timeouts. A
 * {@linkcode ManualClock} therefore drives a whole node: nothing of that happens until it is
 * advanced.
 *
 * Three kinds of wait stay on real time on purpose, because another process keeps their deadline
 * in real time: keeping JetStream from redelivering a message that is still being worked on (the
 * server's ack wait), the deadline of a graceful `stop()` (the platform's grace period), and the
 * few milliseconds the outbox gathers deletes for one statement (I/O batching, not a delay anyone
 * observes).
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `fn` once `ms` milliseconds have passed on this clock; returns a handle. */
  setTimeout(fn: () => void, ms: number): number;
  /** Cancels a pending `setTimeout`; unknown or fired handles are ignored. */
  clearTimeout(handle: number): void;
}

/** The real clock: `Date.now()` and the platform's timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as number,
  clearTimeout: (h) => clearTimeout(h),
};

/**
 * A clock that only moves when told to, for tests and simulations.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ManualClock } from "./clock.ts";
 * const clock = new ManualClock(0);
 * let fired = 0;
 * clock.setTimeout(() => fired++, 1000);
 * clock.advance(999);
 * assert.equal(fired, 0);
 * clock.advance(1);
 * assert.equal(fired, 1);
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #next = 1;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  /** A clock standing at `start` (epoch ms; now by default). */
  constructor(start: number = Date.now()) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    if (ms <= 0) queueMicrotask(() => this.#fireDue());
    return id;
  }

  clearTimeout(handle: number): void {
    this.#timers.delete(handle);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward and runs every timer that fell due, in due order. A periodic task that
   * re-arms itself runs once per advance, however far the clock jumps (like a process resuming
   * after a pause).
   */
  advance(ms: number): void {
    this.#now += ms;
    this.#fireDue();
  }

  #fireDue() {
    const due = [...this.#timers].filter(([, t]) => t.at <= this.#now).sort((a, b) =>
      a[1].at - b[1].at
    );
    for (const [id, t] of due) {
      // A timer cleared by an earlier one in this round does not run.
      if (!this.#timers.delete(id)) continue;
      t.fn();
    }
  }
}

/**
 * Resolves after `ms` on `clock`, or at once when `signal` aborts (a stopping node does not wait
 * out a backoff).
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clock.clearTimeout(handle);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const handle = clock.setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
