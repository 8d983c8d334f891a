import assert from "node:assert/strict";
import { withTenant } from "../../db/tenant.ts";
import { jsonLogger } from "../../runtime/mod.ts";
import { eventually } from "../../tests/harness.ts";
import { channelsEnv, seedChannel } from "../../tests/channels_env.ts";
import { createChannelMetrics } from "./metrics.ts";
import {
  applyStatus,
  publishStatus,
  startStatusWorker,
  StatusNotYetKnownError,
} from "./statuses.ts";

async function seedDelivery(pool: import("pg").Pool, creatorId: string, connectionId: string) {
  await withTenant(pool, creatorId, (c) =>
    c.query(
      `insert into deliveries (id, creator_id, channel, connection_id, purpose, content, status,
                               provider_message_ids)
       values ('d1', $1, 'whatsapp', $2, 'answer', '{}', 'sending', '{wamid.A}')`,
      [creatorId, connectionId],
    ));
  return () =>
    withTenant(pool, creatorId, async (c) =>
      (await c.query(
        `select status, reason, pricing_category, billable, delivered_at is not null delivered,
                read_at is not null read from deliveries where id = 'd1'`,
      )).rows[0]);
}

Deno.test("applyStatus() moves forward only, in any arrival order, and keeps what was charged", async () => {
  await using env = await channelsEnv();
  const { creatorId, connectionId } = await seedChannel(env.db.pool, { kind: "whatsapp" });
  const row = await seedDelivery(env.db.pool, creatorId, connectionId);
  const base = { creatorId, connectionId, channel: "whatsapp", providerMessageId: "wamid.A" };
  assert.equal(await applyStatus(env.db.pool, { ...base, status: "read", at: 3000 }), true);
  assert.equal(
    await applyStatus(env.db.pool, {
      ...base,
      status: "delivered",
      at: 2000,
      pricing: { category: "service", billable: false },
    }),
    false,
  );
  assert.equal(await applyStatus(env.db.pool, { ...base, status: "sent", at: 1000 }), false);
  assert.equal(
    await applyStatus(env.db.pool, { ...base, status: "failed", at: 4000, error: "131026" }),
    false,
  );
  assert.deepEqual(await row(), {
    status: "read",
    reason: null,
    pricing_category: "service",
    billable: false,
    delivered: true,
    read: true,
  });
  await assert.rejects(
    applyStatus(env.db.pool, { ...base, providerMessageId: "wamid.other", status: "read", at: 1 }),
    StatusNotYetKnownError,
  );
});

Deno.test("status worker - a status that overtakes the record of its send is applied once the record exists", async () => {
  await using env = await channelsEnv();
  const { creatorId, connectionId } = await seedChannel(env.db.pool, { kind: "whatsapp" });
  await using worker = await startStatusWorker({
    nc: env.nats.nc,
    pool: env.db.pool,
    prefix: env.nats.prefix,
    deadLetters: env.system.deadLetters,
    metrics: createChannelMetrics({ node: "n1" }),
    log: jsonLogger("error"),
    retryDelayMs: 100,
  });
  const base = { creatorId, connectionId, channel: "whatsapp", providerMessageId: "wamid.A" };
  await publishStatus(env.nats.nc, env.nats.prefix, { ...base, status: "delivered", at: 2000 });
  await publishStatus(env.nats.nc, env.nats.prefix, { ...base, status: "delivered", at: 2000 });
  await eventually(() => worker.stats.retried > 0);
  const row = await seedDelivery(env.db.pool, creatorId, connectionId);
  await eventually(async () => (await row())?.status === "delivered");
  await eventually(() => worker.stats.handled === 1);
  assert.equal(worker.stats.deadLettered, 0);
});
