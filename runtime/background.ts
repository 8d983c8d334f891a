import type { Clock } from "./clock.ts";
import type { Logger } from "./logger.ts";

/**
 * A node's periodic tasks (membership rounds, reminder window loads, outbox sweeps, passivation,
 * gauges) on the runtime clock. Each runs at a fixed rate; a round that is still busy when the
 * next falls due is skipped, and a failure is logged and retried on the next round.
 */
export class BackgroundTasks {
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #timers = new Set<number>();
  #stopped = false;

  constructor(clock: Clock, log: Logger) {
    this.#clock = clock;
    this.#log = log;
  }

  /** Runs `fn` every `ms` milliseconds of the clock until `stop()`. */
  every(ms: number, fn: () => Promise<void> | void): void {
    let busy = false;
    const tick = () => {
      this.#timers.delete(handle);
      if (this.#stopped) return;
      handle = this.#clock.setTimeout(tick, ms);
      this.#timers.add(handle);
      if (busy) return;
      busy = true;
      const failed = (err: unknown) =>
        this.#log.warn("background task failed", { error: String(err) });
      try {
        // Called at once, so a synchronous task has run when `ManualClock.advance()` returns.
        const running = fn();
        if (running) {
          running.catch(failed).finally(() => busy = false);
          return;
        }
      } catch (err) {
        failed(err);
      }
      busy = false;
    };
    let handle = this.#clock.setTimeout(tick, ms);
    this.#timers.add(handle);
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers) this.#clock.clearTimeout(t);
    this.#timers.clear();
  }
}
