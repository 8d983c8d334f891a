import assert from "node:assert/strict";
import { jsonLogger } from "../../runtime/mod.ts";
import { withSystem } from "../../db/tenant.ts";
import { testDb } from "../../tests/harness.ts";
import { MessageCounter } from "./message_counter.ts";

Deno.test("MessageCounter.add() decides at once and writes concurrent increments in few upserts, none lost", async () => {
  await using db = await testDb();
  const creatorId = await withSystem(
    db.pool,
    async (c) =>
      (await c.query("insert into creators (email) values ('c@example.test') returning id")).rows[0]
        .id,
  );
  let writes = 0;
  db.pool.on("acquire", () => writes++);
  const counter = new MessageCounter(db.pool, jsonLogger("error"));
  const totals = await Promise.all(
    Array.from({ length: 200 }, () => counter.add(creatorId, "2026-03-01")),
  );
  await counter.settled();
  assert.deepEqual([...totals].sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i + 1));
  const { rows: [r] } = await db.pool.query(
    "select messages from usage_monthly where creator_id = $1 and month = '2026-03-01'",
    [creatorId],
  );
  assert.equal(r.messages, 200);
  assert.ok(writes < 50, `${writes} connections for 200 messages`);
  // Another node's count arrives with the next write.
  await db.pool.query("update usage_monthly set messages = messages + 1000 where creator_id = $1", [
    creatorId,
  ]);
  await counter.add(creatorId, "2026-03-01");
  await counter.settled();
  assert.equal(await counter.add(creatorId, "2026-03-01"), 1202);
  await counter.settled();
});
