/** Starts an in-process ActorSystem on a test schema and prefix (test helper). */
import type pg from "pg";
import type { NatsConnection } from "@nats-io/transport-node";
import { ActorSystem, type ActorSystemOptions, jsonLogger } from "./mod.ts";
import { counter } from "./testdata/actors.ts";

export function startTestSystem(
  db: { pool: pg.Pool },
  nats: { nc: NatsConnection; prefix: string },
  extra: Partial<ActorSystemOptions> = {},
): Promise<ActorSystem> {
  return ActorSystem.start({
    pool: db.pool,
    nc: nats.nc,
    actors: [counter],
    nodeId: "n1",
    prefix: nats.prefix,
    partitions: 8,
    log: jsonLogger("error"),
    ...extra,
  });
}
