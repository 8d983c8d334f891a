import { Hono } from "hono";
import { Registry } from "prom-client";
import type { ActorSystem } from "../runtime/mod.ts";
import type pg from "pg";

/** Health, readiness and metrics routes every node serves. */
export function opsRoutes(
  { system, pool, registries = [] }: {
    system: ActorSystem;
    pool: pg.Pool;
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
    return c.json({
      status: ok ? "ready" : "not ready",
      checks,
      partitions: system.ownedPartitions.length,
    }, ok ? 200 : 503);
  });
  app.get("/metrics", async (c) => {
    const registry = registries.length
      ? Registry.merge([system.metrics.registry, ...registries])
      : system.metrics.registry;
    return c.text(await registry.metrics(), 200, { "content-type": registry.contentType });
  });
  return app;
}
