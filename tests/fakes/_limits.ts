/**
 * Rate limits and scripted failures as the provider fakes apply them: token buckets per key (a
 * chat, a bot, a phone number, a recipient), the busiest sliding window in a list of times, and
 * queues of failures a test asks for ("the next 2 sendMessage calls answer 429").
 */

/** A clock in milliseconds; tests pass a manual one to make rate limits deterministic. */
export type Clock = () => number;

/** A bucket of `burst` tokens refilled at `perSecond`; one token per request. */
export interface BucketRule {
  burst: number;
  perSecond: number;
}

/** Token buckets keyed by a string, all under the same rule and clock. */
export class TokenBuckets {
  #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(readonly rule: BucketRule, readonly now: Clock) {}

  /**
   * Takes a token for `key`. Returns 0 when the request may pass, else the seconds until a token
   * is back (at least 1, rounded up, as providers report it).
   */
  take(key: string): number {
    const now = this.now();
    const b = this.#buckets.get(key) ?? { tokens: this.rule.burst, at: now };
    b.tokens = Math.min(this.rule.burst, b.tokens + ((now - b.at) / 1000) * this.rule.perSecond);
    b.at = now;
    this.#buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.rule.perSecond));
  }

  /** Gives a token back (a request that passed one limit but failed another). */
  refund(key: string): void {
    const b = this.#buckets.get(key);
    if (b) b.tokens = Math.min(this.rule.burst, b.tokens + 1);
  }
}

/** The largest number of `times` (ms) that fall inside any window of `windowMs`. */
export function busiestWindow(times: readonly number[], windowMs = 1000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

/** Failures a test scripts per key; each request for that key takes the next one. */
export class FailureScript<F> {
  #queued = new Map<string, F[]>();

  /** Queues `failure` for the next `count` requests on `key` (after those already queued). */
  add(key: string, count: number, failure: F): void {
    const q = this.#queued.get(key) ?? [];
    for (let i = 0; i < count; i++) q.push(failure);
    this.#queued.set(key, q);
  }

  /** The failure for this request on `key` (or on `"*"`, any key), if one is queued. */
  take(key: string): F | undefined {
    for (const k of [key, "*"]) {
      const q = this.#queued.get(k);
      if (q && q.length > 0) return q.shift();
    }
    return undefined;
  }

  /** How many scripted failures are still waiting. */
  get pending(): number {
    let n = 0;
    for (const q of this.#queued.values()) n += q.length;
    return n;
  }
}
