import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type pg from "pg";
import type { ApiEnv } from "../env.ts";
import { RateLimitedError } from "../errors.ts";

export interface WindowCount {
  count: number;
  resetMs: number;
}

/**
 * Counts one request in `bucket`'s current fixed window, in Postgres, so every node of a cluster
 * shares the count.
 */
export async function hit(pool: pg.Pool, bucket: string, windowMs: number): Promise<WindowCount> {
  const now = Date.now();
  const window = Math.floor(now / windowMs);
  const { rows: [row] } = await pool.query<{ count: number }>(
    `insert into rate_limit_counters as r (bucket, window_start, count) values ($1, $2, 1)
     on conflict (bucket) do update set
       count = case when r.window_start = excluded.window_start then r.count + 1 else 1 end,
       window_start = excluded.window_start
     returning count`,
    [bucket, window],
  );
  // Now and then, drop counters of windows that are over, so idle IPs do not pile up.
  if (Math.random() < 0.001) {
    await pool.query("delete from rate_limit_counters where window_start < $1", [window - 1]);
  }
  return { count: row!.count, resetMs: (window + 1) * windowMs - now };
}

/** The client address: the first `X-Forwarded-For` hop behind a trusted proxy, else the socket. */
export function clientIp(c: Context<ApiEnv>): string {
  if (c.get("services").trustProxy) {
    const forwarded = c.req.header("x-forwarded-for")?.split(",")[0]?.trim();
    if (forwarded) return forwarded;
  }
  const env = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return env?.remoteAddr?.hostname ?? "unknown";
}

function setHeaders(c: Context, limit: number, windowMs: number, w: WindowCount) {
  c.header("RateLimit-Limit", String(limit));
  c.header("RateLimit-Remaining", String(Math.max(0, limit - w.count)));
  c.header("RateLimit-Reset", String(Math.ceil(w.resetMs / 1000)));
  c.header("RateLimit-Policy", `${limit};w=${Math.round(windowMs / 1000)}`);
}

/**
 * Limits requests per client IP (`scope: "ip"`, on the public routes) or per API key / member
 * (`scope: "principal"`, after authentication). Sends `RateLimit-*` headers; over the limit, a
 * 429. A request with valid credentials counts only against its key, so one key over its limit
 * does not use up the address's budget that others behind the same address share; requests
 * without valid credentials count against the address (`authenticate`).
 */
export function rateLimit(scope: "ip" | "principal") {
  return createMiddleware<ApiEnv>(async (c, next) => {
    const { pool, rateLimit: o } = c.get("services");
    let bucket: string;
    let limit: number;
    if (scope === "ip") {
      bucket = `ip:${clientIp(c)}`;
      limit = o.perIp;
    } else {
      const auth = c.get("auth");
      bucket = `${auth.kind}:${auth.subject}`;
      limit = o.perKey;
    }
    const w = await hit(pool, bucket, o.windowMs);
    // The per-key headers come second and win: they are the limit an integrator plans for.
    setHeaders(c, limit, o.windowMs, w);
    if (w.count > limit) {
      throw new RateLimitedError(Math.ceil(w.resetMs / 1000), scope === "ip" ? "address" : "key");
    }
    await next();
  });
}
