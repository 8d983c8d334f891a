/** Starts an in-process ActorSystem hosting the test `counter` actor on a test schema and prefix. */
import type pg from "pg";
import type { NatsConnection } from "@nats-io/transport-node";
import { ActorSystem, type ActorSystemOptions, jsonLogger } from "../runtime/mod.ts";
import { counter } from "../runtime/testdata/actors.ts";

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
