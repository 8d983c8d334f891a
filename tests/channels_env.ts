/**
 * Test environment of the channels: a migrated schema, a NATS prefix, an actor system hosting the
 * given actors, and helpers that seed creators and channel connections.
 */
import type pg from "pg";
import { ActorSystem, type AnyActorDefinition, jsonLogger } from "../runtime/mod.ts";
import { withTenant } from "../db/tenant.ts";
import { type TestDb, testDb, type TestNats, testNats } from "./harness.ts";
import { seedCreator } from "./knowledge_seed.ts";

export interface ChannelsEnv extends AsyncDisposable {
  db: TestDb;
  nats: TestNats;
  system: ActorSystem;
}

export async function channelsEnv(
  { actors = [] as AnyActorDefinition[], partitions = 4 } = {},
): Promise<ChannelsEnv> {
  const db = await testDb();
  const nats = await testNats();
  const system = await ActorSystem.start({
    pool: db.pool,
    nc: nats.nc,
    actors,
    nodeId: "n1",
    prefix: nats.prefix,
    partitions,
    log: jsonLogger("error"),
  });
  return {
    db,
    nats,
    system,
    async [Symbol.asyncDispose]() {
      await system.stop();
      await nats[Symbol.asyncDispose]();
      await db[Symbol.asyncDispose]();
    },
  };
}

/** A creator with one channel connection of `kind` (config as given, no secrets). */
export async function seedChannel(
  pool: pg.Pool,
  { kind = "telegram", config = {}, creatorId }: {
    kind?: string;
    config?: Record<string, unknown>;
    creatorId?: string;
  } = {},
): Promise<{ creatorId: string; connectionId: string }> {
  const creator = creatorId ?? await seedCreator(pool);
  const connectionId = await withTenant(pool, creator, async (c) =>
    (await c.query<{ id: string }>(
      `insert into channel_connections (creator_id, kind, name, config)
       values ($1, $2, $3, $4) returning id`,
      [creator, kind, `${kind} test`, config],
    )).rows[0]!.id);
  return { creatorId: creator, connectionId };
}
