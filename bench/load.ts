/**
 * The in-process load generator: `calls` HTTP calls with at most `concurrency` in flight, each
 * timed from request to fully read response.
 */

export interface LoadResult {
  calls: number;
  errors: number;
  /** The first few failures, for the report. */
  errorSamples: string[];
  elapsedMs: number;
  /** Latency of every successful call, in ms, in completion order. */
  latenciesMs: Float64Array;
}

/** A call failed: a non-2xx status, a transport error or an unexpected reply. */
export class CallFailedError extends Error {
  constructor(readonly url: string, message: string, options?: ErrorOptions) {
    super(`${url}: ${message}`, options);
    this.name = "CallFailedError";
  }
}

/**
 * Runs `call(i)` for i in [0, calls) with at most `concurrency` at once, timing each one.
 * A call that throws counts as an error; the run goes on.
 */
export async function runCalls(
  calls: number,
  call: (i: number) => Promise<void>,
  { concurrency = 64, signal }: { concurrency?: number; signal?: AbortSignal } = {},
): Promise<LoadResult> {
  const latencies = new Float64Array(calls);
  let ok = 0;
  let errors = 0;
  const errorSamples: string[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < calls && !signal?.aborted) {
      const i = next++;
      const t0 = performance.now();
      try {
        await call(i);
        latencies[ok++] = performance.now() - t0;
      } catch (err) {
        errors++;
        if (errorSamples.length < 5) errorSamples.push(String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, calls) }, worker));
  return {
    calls: ok + errors,
    errors,
    errorSamples,
    elapsedMs: performance.now() - started,
    latenciesMs: latencies.subarray(0, ok),
  };
}

/** POSTs (or GETs, without a body) JSON and returns the parsed reply; throws CallFailedError. */
export async function callJson<T = unknown>(
  url: string,
  body?: unknown,
  { method = body === undefined ? "GET" : "POST" }: { method?: string } = {},
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? undefined : { "content-type": "application/json" },
    });
  } catch (err) {
    throw new CallFailedError(url, String(err), { cause: err });
  }
  const text = await res.text();
  if (!res.ok) throw new CallFailedError(url, `HTTP ${res.status}: ${text.slice(0, 300)}`);
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new CallFailedError(url, `reply is not JSON: ${text.slice(0, 100)}`, { cause: err });
  }
}

/** Key of the i-th call when `keys` keys are used round-robin. */
export const keyOf = (prefix: string, i: number, keys: number) => `${prefix}${i % keys}`;

/**
 * The "user turn" workload: call i sends a message to key `i mod keys` through node
 * `i mod urls.length` and checks the reply names the message.
 */
export function userTurns(
  { urls, keys, keyPrefix, calls, concurrency, offset = 0 }: {
    urls: string[];
    keys: number;
    keyPrefix: string;
    calls: number;
    concurrency: number;
    /** Added to i, so a second run continues the first one's numbering. */
    offset?: number;
  },
): Promise<LoadResult> {
  return runCalls(calls, async (i) => {
    const n = i + offset;
    const url = `${urls[n % urls.length]}/user/${keyOf(keyPrefix, n, keys)}/message`;
    const text = `message ${n} of the user-turn benchmark`;
    const reply = await callJson<string>(url, text);
    if (typeof reply !== "string" || !reply.endsWith(`: ${text.slice(0, 16)}`)) {
      throw new CallFailedError(url, `unexpected reply ${JSON.stringify(reply)}`);
    }
  }, { concurrency });
}
