/**
 * Circuit breakers and timeouts around external providers (model servers, messaging APIs,
 * payment and mail services), built on `cockatiel`. Each provider has one named breaker in a
 * {@link ProviderBreakers} board that the node's health page reads. A call gets a deadline; after
 * `failures` consecutive failures (server errors, network errors, timeouts — not a refusal of
 * one request) the breaker opens and calls fail at once with {@link ProviderUnavailableError}
 * until `halfOpenAfterMs` has passed; then one trial call decides whether it closes again.
 *
 * It lives beside the model clients because knowledge/ is the lowest layer that calls a
 * provider; channels and the layers above use it through knowledge/mod.ts.
 */
import {
  BrokenCircuitError,
  circuitBreaker,
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  handleWhen,
  TaskCancelledError,
  timeout,
  TimeoutStrategy,
  wrap,
} from "cockatiel";

export type BreakerState = "closed" | "open" | "half-open" | "isolated";

export interface BreakerOptions {
  /** Deadline of one call. Default 10 s. */
  timeoutMs?: number;
  /** Consecutive failures that open the breaker. Default 5. */
  failures?: number;
  /** How long it stays open before a trial call. Default 30 s. */
  halfOpenAfterMs?: number;
  /** Which errors count as the provider failing (default: every error). */
  isFailure?: (err: unknown) => boolean;
}

/** A call refused without trying: the provider's breaker is open. */
export class ProviderUnavailableError extends Error {
  constructor(readonly provider: string, readonly retryAfterMs: number, options?: ErrorOptions) {
    super(`${provider} is unavailable (circuit open); retry in ${retryAfterMs} ms`, options);
    this.name = "ProviderUnavailableError";
  }
}

/** A call that passed its deadline (counted as a failure of the provider). */
export class ProviderTimeoutError extends Error {
  constructor(readonly provider: string, readonly timeoutMs: number, options?: ErrorOptions) {
    super(`${provider} did not answer within ${timeoutMs} ms`, options);
    this.name = "ProviderTimeoutError";
  }
}

const STATES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half-open",
  [CircuitState.Isolated]: "isolated",
};

/** One provider's breaker and deadline. */
export class ProviderBreaker {
  readonly #breaker: CircuitBreakerPolicy;
  readonly #policy;
  readonly #halfOpenAfterMs: number;
  readonly #timeoutMs: number;
  #openedAt = 0;
  #lastError = "";

  constructor(readonly name: string, o: BreakerOptions = {}) {
    this.#timeoutMs = o.timeoutMs ?? 10_000;
    this.#halfOpenAfterMs = o.halfOpenAfterMs ?? 30_000;
    const isFailure = o.isFailure ?? (() => true);
    this.#breaker = circuitBreaker(
      handleWhen((err) => err instanceof TaskCancelledError || isFailure(err)),
      { halfOpenAfter: this.#halfOpenAfterMs, breaker: new ConsecutiveBreaker(o.failures ?? 5) },
    );
    this.#breaker.onBreak(() => (this.#openedAt = Date.now()));
    this.#breaker.onFailure((f) => {
      if ("error" in f.reason) this.#lastError = String((f.reason.error as Error)?.message ?? "");
    });
    // Aggressive: the call is abandoned at the deadline even if it ignores the signal.
    this.#policy = wrap(this.#breaker, timeout(this.#timeoutMs, TimeoutStrategy.Aggressive));
  }

  get state(): BreakerState {
    return STATES[this.#breaker.state];
  }

  /** Milliseconds until an open breaker lets a trial call through (0 when not open). */
  retryAfterMs(): number {
    if (this.#breaker.state !== CircuitState.Open) return 0;
    return Math.max(0, this.#openedAt + this.#halfOpenAfterMs - Date.now());
  }

  /** What the health page shows. */
  describe(): { state: BreakerState; retryAfterMs: number; lastError?: string } {
    const state = this.state;
    return {
      state,
      retryAfterMs: this.retryAfterMs(),
      ...(state !== "closed" && this.#lastError ? { lastError: this.#lastError } : {}),
    };
  }

  /**
   * Runs `fn` under the deadline and the breaker; `fn` should pass `signal` to its I/O.
   * @throws ProviderUnavailableError when open, ProviderTimeoutError past the deadline, and
   * whatever `fn` throws otherwise.
   */
  async execute<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await this.#policy.execute(({ signal }) => fn(signal));
    } catch (err) {
      if (err instanceof BrokenCircuitError) {
        throw new ProviderUnavailableError(this.name, this.retryAfterMs(), { cause: err });
      }
      if (err instanceof TaskCancelledError) {
        throw new ProviderTimeoutError(this.name, this.#timeoutMs, { cause: err });
      }
      throw err;
    }
  }
}

/** Every provider breaker of a node, by name, for the health page. */
export class ProviderBreakers {
  readonly #all = new Map<string, ProviderBreaker>();

  constructor(private readonly defaults: BreakerOptions = {}) {}

  /** The breaker named `name`, made with `o` (over the board's defaults) on first use. */
  get(name: string, o: BreakerOptions = {}): ProviderBreaker {
    let b = this.#all.get(name);
    if (!b) {
      b = new ProviderBreaker(name, { ...this.defaults, ...o });
      this.#all.set(name, b);
    }
    return b;
  }

  /** Each breaker's state, by provider name. */
  describe(): Record<string, ReturnType<ProviderBreaker["describe"]>> {
    return Object.fromEntries([...this.#all].map(([name, b]) => [name, b.describe()]));
  }

  /** Names of the providers whose breaker is open. */
  open(): string[] {
    return [...this.#all].filter(([, b]) => b.state === "open").map(([name]) => name);
  }
}
