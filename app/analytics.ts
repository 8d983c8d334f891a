/**
 * Wires analytics into a node: the workers role projects the events stream into the read models
 * (one node at a time holds the projection; the others stand by to take over).
 */
import type { NodeExtensionFactory } from "./node.ts";
import { loadOrCreateSecret } from "../db/secrets.ts";
import { Analytics, createAnalyticsMetrics } from "../analytics/mod.ts";

export function analyticsExtension(): NodeExtensionFactory {
  return async ({ pool, nc, config, log }) => {
    const analytics = new Analytics({
      pool,
      secretsKey: await loadOrCreateSecret({
        configured: config.SECRETS_KEY,
        dataDir: config.DATA_DIR,
        name: "secrets_key",
      }),
    });
    const metrics = createAnalyticsMetrics({ node: config.NODE_ID ?? "node" });
    return {
      metrics: metrics.registry,
      start: () =>
        Promise.resolve(
          analytics.project({
            nc,
            prefix: config.NATS_PREFIX,
            log: log.child({ component: "analytics" }),
            metrics,
          }),
        ),
    };
  };
}
