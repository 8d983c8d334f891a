/**
 * What the provider fakes share: a loopback HTTP server, request parameters read the way the
 * providers read them (query string, JSON, urlencoded or multipart body), outgoing webhook POSTs,
 * and a set of background tasks a fake waits for before it closes.
 */

/** A server on 127.0.0.1 with a random port. */
export interface LoopbackServer {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  url: string;
  close(): Promise<void>;
}

/** Serves `handler` on 127.0.0.1 at a port the system picks. */
export function serveLoopback(
  handler: (req: Request) => Response | Promise<Response>,
): LoopbackServer {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}

/** A parameter value as it arrived: JSON values from a JSON body, strings or files from forms. */
export type ParamValue = unknown;

/**
 * The parameters of a request, merged from the query string and the body. JSON bodies keep their
 * types; urlencoded and multipart fields arrive as strings (files as `File`), as the providers see
 * them. An unreadable body gives `undefined`.
 */
export async function readParams(req: Request): Promise<Record<string, ParamValue> | undefined> {
  const params: Record<string, ParamValue> = {};
  for (const [k, v] of new URL(req.url).searchParams) params[k] = v;
  if (req.method === "GET" || req.method === "HEAD" || req.body === null) return params;
  const type = (req.headers.get("content-type") ?? "").toLowerCase();
  try {
    if (type.startsWith("application/json")) {
      const text = await req.text();
      if (text.trim() === "") return params;
      const body = JSON.parse(text);
      if (body === null || typeof body !== "object" || Array.isArray(body)) return undefined;
      return { ...params, ...body };
    }
    if (
      type.startsWith("multipart/form-data") || type.startsWith("application/x-www-form-urlencoded")
    ) {
      const form = await req.formData();
      for (const [k, v] of form) params[k] = v;
      return params;
    }
    await req.body.cancel();
    return params;
  } catch {
    return undefined;
  }
}

/** What a webhook receiver answered. */
export interface WebhookAnswer {
  status: number;
  body: string;
}

/** POSTs `body` (already serialized: signatures cover these exact bytes) and reads the answer. */
export async function postRaw(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs = 10_000,
): Promise<WebhookAnswer> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    // Like a provider: an unreachable receiver is a failed delivery, not a crash of the sender.
    return { status: 0, body: err instanceof Error ? err.message : String(err) };
  }
}

/** Background work (webhook deliveries) a fake runs after answering a request. */
export class BackgroundTasks {
  #running = new Set<Promise<unknown>>();

  run(task: () => Promise<unknown>): void {
    const p = task().catch(() => {}).finally(() => this.#running.delete(p));
    this.#running.add(p);
  }

  /** Resolves when no task is running, including tasks started by tasks. */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
