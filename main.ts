// deno-lint-ignore-file no-console -- entry point: talks to the terminal
/**
 * Coachd node entry point. `deno task start` runs a node (embedded Postgres and NATS when no URLs
 * are configured); `deno task migrate` only applies migrations.
 */
import pg from "pg";
import { resolve } from "node:path";
import { ConfigError, loadConfig } from "./app/config.ts";
import { migrate } from "./db/migrate.ts";
import { provisionLoginRoles } from "./db/roles.ts";
import { startInfra, startNode } from "./app/node.ts";
import { startSummary } from "./app/start_summary.ts";
import { jsonLogger } from "./runtime/mod.ts";
import { startErrorReporting, tracedLogger } from "./app/errors/reporting.ts";
import { knowledgeExtension } from "./app/knowledge.ts";
import { channelsExtension } from "./app/channels.ts";
import { businessExtension } from "./app/business.ts";
import { analyticsExtension } from "./app/analytics.ts";
import { rebuildAnalytics } from "./app/analytics_rebuild.ts";

async function main(args: string[]) {
  let config;
  try {
    config = loadConfig(Deno.env.toObject());
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    Deno.exit(2);
  }
  // Error tracking when SENTRY_DSN is set; trace ids on every log line either way.
  await using reporting = config.SENTRY_DSN
    ? startErrorReporting({
      dsn: config.SENTRY_DSN,
      environment: config.SENTRY_ENVIRONMENT,
      release: config.SENTRY_RELEASE,
      node: config.NODE_ID,
    })
    : undefined;
  const log = tracedLogger(jsonLogger(config.LOG_LEVEL, { app: "coachd" }), reporting);
  // `migrate` needs Postgres only (embedded when DATABASE_URL is not set).
  const parts = args[0] === "migrate"
    ? ["Postgres" as const]
    : args[0] === "analytics-rebuild"
    ? ["Postgres" as const, "NATS" as const]
    : undefined;
  await using infra = await startInfra(config, log, { parts });
  if (args[0] === "migrate") {
    // The owner migrates, then gives the node's roles the passwords of their URLs.
    const adminUrl = infra.adminDatabaseUrl ?? infra.databaseUrl;
    const pool = new pg.Pool({ connectionString: adminUrl, max: 1 });
    const result = await migrate(pool);
    console.log(`applied ${result.applied.length} migration(s), ${result.skipped} already applied`);
    if (infra.adminDatabaseUrl) {
      const roles = await provisionLoginRoles(pool, [infra.databaseUrl, infra.tenantDatabaseUrl]);
      if (roles.length) console.log(`login roles set: ${roles.join(", ")}`);
    }
    await pool.end();
    return;
  }
  if (args[0] === "analytics-rebuild") {
    const from = args.includes("--from=tables") ? "tables" : "stream";
    const r = await rebuildAnalytics({ config, ...infra, log, from });
    console.log(
      `analytics rebuilt from the ${from}: ${r.fromTables} record(s) from tables, ` +
        `stream position ${r.position}, ${r.applied} event(s) applied`,
    );
    return;
  }
  const business = businessExtension();
  const node = await startNode({
    config,
    ...infra,
    log,
    extensions: [
      knowledgeExtension({ chromaUrl: infra.chromaUrl }),
      business.factory,
      channelsExtension({ gate: business.gate }),
      analyticsExtension(),
    ],
  });
  console.log(startSummary({
    nodeId: node.nodeId,
    addr: node.server.addr as Deno.NetAddr,
    dataDir: resolve(config.DATA_DIR),
    ...infra,
  }));
  const done = Promise.withResolvers<void>();
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(sig, () => {
      log.info("draining", { signal: sig });
      node.stop().then(done.resolve, done.reject);
    });
  }
  await done.promise;
  log.info("stopped");
}

if (import.meta.main) await main(Deno.args);
