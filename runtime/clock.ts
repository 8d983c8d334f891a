/** Time as the runtime sees it: real by default, replaceable in simulations. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(handle: number): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as number,
  clearTimeout: (h) => clearTimeout(h),
};

/** A clock that only moves when told to, for tests and simulations. */
export class ManualClock implements Clock {
  #now: number;
  #next = 1;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = Date.now()) {
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

  /** Moves time forward and runs every timer that fell due, in due order. */
  advance(ms: number): void {
    this.#now += ms;
    this.#fireDue();
  }

  #fireDue() {
    const due = [...this.#timers].filter(([, t]) => t.at <= this.#now).sort((a, b) =>
      a[1].at - b[1].at
    );
    for (const [id, t] of due) {
      this.#timers.delete(id);
      t.fn();
    }
  }
}
