/**
 * Wires analytics into a node: the workers role projects the events stream into the read models
 * (one node at a time holds the projection; the others stand by to take over).
 */
import type { NodeExtensionFactory } from "./node.ts";
import { loadOrCreateSecret } from "../db/secrets.ts";
import { Analytics } from "../analytics/mod.ts";

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
    return {
      start: () =>
        Promise.resolve(
          analytics.project({
            nc,
            prefix: config.NATS_PREFIX,
            log: log.child({ component: "analytics" }),
          }),
        ),
    };
  };
}
