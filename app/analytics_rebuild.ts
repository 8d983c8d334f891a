/**
 * `deno task analytics-rebuild [--from=tables]`: empties the analytics read models and replays
 * them, from the events stream (what it still holds) or first from the source tables (the
 * conversation records) and then the stream. A running node's projection notices the reset and
 * replays too; this command waits until the read models have caught up with the stream.
 */
import pg from "pg";
import { connect } from "@nats-io/transport-node";
import type { Config } from "./config.ts";
import { natsConnectOptions } from "./nats_connect.ts";
import type { Logger } from "../runtime/mod.ts";
import { migrate } from "../db/migrate.ts";
import { loadOrCreateSecret } from "../db/secrets.ts";
import {
  Analytics,
  checkpointOf,
  replayFromTables,
  resetProjection,
  waitForCheckpoint,
} from "../analytics/mod.ts";

export async function rebuildAnalytics(
  { config, databaseUrl, adminDatabaseUrl, natsUrl, log, from }: {
    config: Config;
    databaseUrl: string;
    /** Migrates first (the read models' tables may be new); absent: databaseUrl migrates. */
    adminDatabaseUrl?: string;
    natsUrl: string;
    log: Logger;
    from: "stream" | "tables";
  },
): Promise<{ fromTables: number; position: number; applied: number }> {
  const admin = new pg.Pool({ connectionString: adminDatabaseUrl ?? databaseUrl, max: 1 });
  try {
    await migrate(admin);
  } finally {
    await admin.end();
  }
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  const nc = await connect(
    await natsConnectOptions(natsUrl, {
      user: config.NATS_USER,
      password: config.NATS_PASSWORD,
      credsFile: config.NATS_CREDS,
    }),
  );
  try {
    const analytics = new Analytics({
      pool,
      secretsKey: await loadOrCreateSecret({
        configured: config.SECRETS_KEY,
        dataDir: config.DATA_DIR,
        name: "secrets_key",
      }),
    });
    await resetProjection(pool);
    const fromTables = from === "tables" ? await replayFromTables(pool, analytics.pseudonyms) : 0;
    await using projection = analytics.project({
      nc,
      prefix: config.NATS_PREFIX,
      log,
      lockRetryMs: 500,
    });
    // Whichever node holds the projection replays; the read models tell when it is done.
    await waitForCheckpoint(pool, nc, config.NATS_PREFIX, { timeoutMs: 3600_000 });
    const { rows: [cp] } = await pool.query<{ applied: string }>(
      "select applied from analytics_checkpoints where projection = 'analytics'",
    );
    void projection;
    return { fromTables, position: await checkpointOf(pool), applied: Number(cp?.applied ?? 0) };
  } finally {
    await nc.drain();
    await pool.end();
  }
}
