/**
 * Rebuilding analytics from the source tables: the conversation records become their events
 * again under their ids (an answer paired with the question before it), and the stream's copies
 * of the same events are then no-ops.
 */
import assert from "node:assert/strict";
import { testApi } from "./api_harness.ts";
import { insertEndUsers, publishEvent } from "./analytics_activity.ts";
import { withSystem } from "../db/tenant.ts";
import { jsonLogger } from "../runtime/mod.ts";
import {
  Analytics,
  replayFromTables,
  resetProjection,
  waitForCheckpoint,
} from "../analytics/mod.ts";

const secretsKey = crypto.getRandomValues(new Uint8Array(32));

Deno.test("replayFromTables() rebuilds messages from the records; the stream then adds nothing", async () => {
  await using t = await testApi({ secretsKey });
  const analytics = new Analytics({ pool: t.db.pool, secretsKey });
  const a = await t.signup();
  const people = await insertEndUsers(t.db.pool, a.creatorId, 5);
  const events: Array<{ id: string; body: Record<string, unknown> }> = [];
  await withSystem(t.db.pool, async (c) => {
    for (const [i, u] of people.entries()) {
      const { rows: [conv] } = await c.query<{ id: string }>(
        `insert into conversations (creator_id, end_user_id, channel) values ($1, $2, 'telegram')
         returning id`,
        [a.creatorId, u],
      );
      const at = Date.parse("2026-11-02T10:00:00Z") + i * 60_000;
      for (
        const m of [
          { role: "user", text: "What about protein powders?", at, metadata: {} },
          {
            role: "assistant",
            text: "I have nothing on that.",
            at: at + 1,
            metadata: { refused: true },
          },
        ]
      ) {
        const id = crypto.randomUUID();
        await c.query(
          `insert into messages (creator_id, conversation_id, end_user_id, role, content, metadata,
                                 created_at, source_event)
           values ($1, $2, $3, $4, $5, $6, to_timestamp($7 / 1000.0), $8)`,
          [a.creatorId, conv!.id, u, m.role, m.text, m.metadata, m.at, id],
        );
        events.push({
          id,
          body: {
            creatorId: a.creatorId,
            conversationId: conv!.id,
            endUserId: u,
            channel: "telegram",
            role: m.role,
            text: m.text,
            at: m.at,
            metadata: m.metadata,
          },
        });
      }
    }
  });
  await resetProjection(t.db.pool);
  assert.equal(await replayFromTables(t.db.pool, analytics.pseudonyms, { pageSize: 3 }), 10);
  const unanswered = async () => {
    const res = await t.call("GET", "/analytics/answers/unanswered?from=2026-11-01&to=2026-11-03", {
      token: a.token,
    });
    return (await res.json()).data;
  };
  assert.deepEqual(await unanswered(), [
    { topic: "protein", users: 5, questions: 5, suppressed: false },
  ]);
  // The same events arrive from the stream under the same ids: nothing changes.
  for (const e of events) {
    await publishEvent(
      { nc: t.nats.nc, prefix: t.nats.prefix },
      "conversation.message",
      e.body,
      e.id,
    );
  }
  await using projection = analytics.project({
    nc: t.nats.nc,
    prefix: t.nats.prefix,
    log: jsonLogger("error"),
  });
  await waitForCheckpoint(t.db.pool, t.nats.nc, t.nats.prefix);
  assert.equal(projection.stats.duplicates, 10);
  const { rows: [n] } = await t.db.pool.query<{ n: number }>(
    "select count(*)::int n from analytics_messages",
  );
  assert.equal(n!.n, 10);
  assert.deepEqual(await unanswered(), [
    { topic: "protein", users: 5, questions: 5, suppressed: false },
  ]);
});
