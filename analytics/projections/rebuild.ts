/**
 * Rebuilding the read models: empty them and the projection's position in one transaction, then
 * replay. From the stream (default) every event still in the events stream is applied again; from
 * the source tables the conversation records (`messages`, whose `source_event` is the event id)
 * are turned back into `conversation.message` events first, so a later replay of the same events
 * from the stream is a no-op. A projection running on a node notices its position went back and
 * starts over from it.
 */
import type pg from "pg";
import { withSystem } from "../../db/tenant.ts";
import type { MessageRecorded } from "../../actors/mod.ts";
import { applyBatch, type KeySource, type StreamEvent } from "./apply.ts";
import { PROJECTION } from "./runner.ts";

/** Tables a rebuild empties (keys and the erased pseudonyms stay). */
export const READ_MODELS = [
  "analytics_people",
  "analytics_messages",
  "analytics_handoffs",
  "analytics_program_events",
  "analytics_nudges",
  "analytics_badges",
  "analytics_streaks",
  "analytics_subscriptions",
  "analytics_webhooks",
  "analytics_applied",
];

/** Empties the read models and sets the position to the stream's start. */
export async function resetProjection(pool: pg.Pool): Promise<void> {
  await withSystem(pool, async (c) => {
    await c.query(
      `insert into analytics_checkpoints (projection) values ($1) on conflict do nothing`,
      [PROJECTION],
    );
    await c.query("select 1 from analytics_checkpoints where projection = $1 for update", [
      PROJECTION,
    ]);
    await c.query(`truncate ${READ_MODELS.join(", ")}`);
    await c.query(
      `update analytics_checkpoints set last_seq = 0, applied = 0, rejected = 0, updated_at = now()
        where projection = $1`,
      [PROJECTION],
    );
  });
}

interface MessageRow {
  source_event: string;
  creator_id: string;
  conversation_id: string;
  end_user_id: string;
  channel: string;
  role: MessageRecorded["role"];
  content: string;
  metadata: Record<string, unknown>;
  at: number;
}

/**
 * Applies the conversation records of the source tables as events (in pages of `pageSize`);
 * returns how many were applied. An answer is paired with the user message just before it.
 */
export async function replayFromTables(
  pool: pg.Pool,
  keys: KeySource,
  { pageSize = 5000 }: { pageSize?: number } = {},
): Promise<number> {
  let applied = 0;
  let after: { conversation: string; ts: string; id: string } | null = null;
  let lastQuestion = new Map<string, string>();
  for (;;) {
    const { rows }: { rows: Array<MessageRow & { id: string; ts: string }> } = await pool.query(
      `select m.id, m.source_event, m.creator_id, m.conversation_id, m.end_user_id, c.channel,
              m.role, m.content, m.metadata,
              (extract(epoch from m.created_at) * 1000)::float8 as at, m.created_at::text as ts
         from messages m join conversations c on c.id = m.conversation_id
        where m.source_event is not null
          and ($1::uuid is null or (m.conversation_id, m.created_at, m.id)
                > ($1::uuid, $2::timestamptz, $3::uuid))
        order by m.conversation_id, m.created_at, m.id
        limit $4`,
      [after?.conversation ?? null, after?.ts ?? null, after?.id ?? null, pageSize],
    );
    if (rows.length === 0) break;
    const events: StreamEvent[] = rows.map((r) => {
      const body: MessageRecorded = {
        creatorId: r.creator_id,
        conversationId: r.conversation_id,
        endUserId: r.end_user_id,
        channel: r.channel as MessageRecorded["channel"],
        role: r.role,
        text: r.content.slice(0, 20_000),
        at: r.at,
        metadata: r.metadata,
      };
      if (r.role === "user") {
        body.messageId = r.source_event;
        lastQuestion.set(r.conversation_id, r.source_event);
      } else if (r.role === "assistant" && lastQuestion.has(r.conversation_id)) {
        body.replyTo = lastQuestion.get(r.conversation_id);
      }
      return { id: r.source_event, seq: 0, subject: "conversation.message", body };
    });
    const out = await withSystem(pool, (c) => applyBatch(c, keys, events));
    applied += out.applied;
    const last: MessageRow & { id: string; ts: string } = rows[rows.length - 1]!;
    after = { conversation: last.conversation_id, ts: last.ts, id: last.id };
    if (lastQuestion.size > 10_000) lastQuestion = new Map([...lastQuestion].slice(-1000));
  }
  return applied;
}
