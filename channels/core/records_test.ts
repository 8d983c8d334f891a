import assert from "node:assert/strict";
import { withTenant } from "../../db/tenant.ts";
import { channelsEnv, seedChannel } from "../../tests/channels_env.ts";
import { takeIn } from "./intake.ts";
import { applyMessage, applyStatusChange } from "./records.ts";

Deno.test("conversation records - a message creates its conversation; a redelivered event is one row; status never goes back", async () => {
  await using env = await channelsEnv();
  const { creatorId, connectionId } = await seedChannel(env.db.pool);
  const person = await takeIn({ pool: env.db.pool, system: env.system }, {
    channel: "telegram",
    connectionId,
    creatorId,
    externalUserId: "7",
    externalMessageId: "m1",
    sentAt: 1,
    content: { type: "text", text: "hi" },
  });
  assert.ok(person.status === "accepted");
  const conversationId = crypto.randomUUID();
  const base = {
    creatorId,
    conversationId,
    endUserId: person.endUserId,
    channel: "telegram" as const,
  };
  await applyMessage(env.db.pool, { ...base, role: "user", text: "hi", at: 1000 }, "e1");
  await applyMessage(env.db.pool, { ...base, role: "user", text: "hi", at: 1000 }, "e1");
  await applyMessage(env.db.pool, {
    ...base,
    role: "assistant",
    text: "Hello!",
    at: 2000,
    deliveryId: "d1",
  }, "e2");
  await applyStatusChange(env.db.pool, { ...base, status: "handoff", reason: "asked", at: 3000 });
  await applyStatusChange(env.db.pool, { ...base, status: "open", at: 2500 });
  const rows = await withTenant(env.db.pool, creatorId, async (c) => ({
    conv: (await c.query(
      `select status, (extract(epoch from last_message_at) * 1000)::bigint::text last from conversations`,
    )).rows,
    msgs: (await c.query("select role, content, delivery_id from messages order by created_at"))
      .rows,
  }));
  assert.deepEqual(rows.conv, [{ status: "handoff", last: "2000" }]);
  assert.deepEqual(rows.msgs, [
    { role: "user", content: "hi", delivery_id: null },
    { role: "assistant", content: "Hello!", delivery_id: "d1" },
  ]);
});
