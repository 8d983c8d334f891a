import assert from "node:assert/strict";
import { testDb } from "../../tests/harness.ts";
import { seedChannel } from "../../tests/channels_env.ts";
import { appendMessage, messagesAfter, messagesBefore } from "./log.ts";

async function person() {
  const db = await testDb();
  const { creatorId, connectionId } = await seedChannel(db.pool, { kind: "web_widget" });
  const { rows: [u] } = await db.pool.query<{ id: string }>(
    `insert into end_users (creator_id, channel, external_id) values ($1, 'web_widget', 'v:1')
     returning id`,
    [creatorId],
  );
  return { db, creatorId, connectionId, endUserId: u!.id };
}

Deno.test("appendMessage() - concurrent appends get gap-free numbers; a repeated key gets the first one", async () => {
  const p = await person();
  await using db = p.db;
  const write = (key: string) =>
    appendMessage(db.pool, {
      creatorId: p.creatorId,
      endUserId: p.endUserId,
      key,
      role: "assistant",
      body: { text: key },
    });
  // 40 distinct keys and each of the first 10 twice more, all at once.
  const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
  const results = await Promise.all(
    [...keys, ...keys.slice(0, 10), ...keys.slice(0, 10)].map(write),
  );
  const fresh = results.filter((r) => r.fresh);
  assert.equal(fresh.length, 40);
  assert.deepEqual(
    fresh.map((r) => r.message.id).sort((a, b) => a - b),
    Array.from({ length: 40 }, (_, i) => i + 1),
  );
  // A repeat names the number its key was first given.
  const byKey = new Map(fresh.map((r) => [r.message.text, r.message.id]));
  for (const r of results.filter((r) => !r.fresh)) {
    assert.equal(r.message.id, byKey.get(r.message.text));
  }
  const { rows: [cursor] } = await db.pool.query("select last_seq from realtime_cursors");
  assert.equal(Number(cursor.last_seq), 40);
});

Deno.test("messagesAfter() and messagesBefore() - replay after an id, pages before one", async () => {
  const p = await person();
  await using db = p.db;
  for (let i = 1; i <= 7; i++) {
    await appendMessage(db.pool, {
      creatorId: p.creatorId,
      endUserId: p.endUserId,
      key: `m${i}`,
      role: i % 2 ? "user" : "assistant",
      body: { text: `message ${i}`, ...(i % 2 ? { cid: `c${i}` } : {}) },
    });
  }
  const who = { creatorId: p.creatorId, endUserId: p.endUserId };
  const after = await messagesAfter(db.pool, { ...who, after: 4 });
  assert.deepEqual(after.map((m) => m.id), [5, 6, 7]);
  assert.equal(after[0]!.cid, "c5");
  assert.equal(after[0]!.role, "user");
  assert.deepEqual((await messagesAfter(db.pool, { ...who, after: 2, upTo: 4 })).map((m) => m.id), [
    3,
    4,
  ]);
  const newest = await messagesBefore(db.pool, { ...who, limit: 3 });
  assert.deepEqual(newest.messages.map((m) => m.id), [5, 6, 7]);
  assert.equal(newest.more, true);
  const first = await messagesBefore(db.pool, { ...who, before: 3, limit: 3 });
  assert.deepEqual(first.messages.map((m) => m.id), [1, 2]);
  assert.equal(first.more, false);
});
