import { createHash, timingSafeEqual } from "node:crypto";
import { Hono } from "hono";
import { Registry } from "prom-client";
import type { ActorSystem } from "../runtime/mod.ts";
import type pg from "pg";
import type { ProviderBreakers } from "../knowledge/mod.ts";

/** Health and readiness routes every node serves (and `/metrics`, unless it has its own port). */
export function opsRoutes(
  { system, pool, breakers, metrics = true, metricsToken, registries = [] }: {
    system: ActorSystem;
    pool: pg.Pool;
    /** External providers' breakers: reported, never a reason to be unready. */
    breakers?: ProviderBreakers;
    /** Serve `/metrics` here; false when it has a listener of its own (`METRICS_PORT`). */
    metrics?: boolean;
    metricsToken?: string;
    /** Features' own registries, merged with the runtime's. */
    registries?: Registry[];
  },
) {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const checks: Record<string, string> = {};
    try {
      await pool.query("select 1");
      checks.postgres = "ok";
    } catch (err) {
      checks.postgres = String(err);
    }
    checks.actors = system.ready ? "ok" : "not ready";
    const ok = Object.values(checks).every((v) => v === "ok");
    // A provider being down is not this node's fault: turns commit and deliveries wait, so the
    // node stays ready and says which breakers are open.
    return c.json({
      status: ok ? "ready" : "not ready",
      checks,
      partitions: system.ownedPartitions.length,
      ...(breakers ? { providers: breakers.describe(), open_breakers: breakers.open() } : {}),
    }, ok ? 200 : 503);
  });
  if (metrics) app.route("/", metricsRoutes({ system, token: metricsToken, registries }));
  return app;
}

/**
 * `GET /metrics` in the Prometheus text format. With `token`, a scrape must send
 * `Authorization: Bearer <token>` (compared in constant time); without, anyone who reaches the
 * listener may read it.
 */
export function metricsRoutes(
  { system, token, registries = [] }: {
    system: ActorSystem;
    token?: string;
    registries?: Registry[];
  },
) {
  const app = new Hono();
  const expected = token ? digest(token) : undefined;
  app.get("/metrics", async (c) => {
    if (expected) {
      const given = c.req.header("authorization")?.match(/^Bearer\s+(\S+)$/i)?.[1] ?? "";
      if (!timingSafeEqual(digest(given), expected)) {
        return c.text("metrics need Authorization: Bearer <METRICS_TOKEN>\n", 401, {
          "www-authenticate": 'Bearer realm="metrics"',
        });
      }
    }
    const registry = registries.length
      ? Registry.merge([system.metrics.registry, ...registries])
      : system.metrics.registry;
    return c.text(await registry.metrics(), 200, { "content-type": registry.contentType });
  });
  return app;
}

// Equal-length digests, so the comparison takes the same time whatever the token's length.
const digest = (text: string) => createHash("sha256").update(text).digest();
