/**
 * The conversation records creators read through the admin API (conversations, their messages,
 * the handoff inbox) are a projection of the conversation actors' committed events: each event
 * is applied once (its id is the message row's `source_event`), a conversation row is created by
 * its first message, and a status only follows the newest event.
 */
import type pg from "pg";
import type { NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import {
  type DeadLetters,
  type Logger,
  parseEvent,
  startEventConsumer,
  streamNames,
} from "../../runtime/mod.ts";
import { withTenant } from "../../db/tenant.ts";
import { CONVERSATION_EVENTS, MessageRecorded, StatusChanged } from "../../actors/mod.ts";

/** Creates the conversation row on first sight, moving last_message_at forward only. */
async function ensureConversation(
  c: pg.PoolClient,
  e: { conversationId: string; endUserId: string; channel: string; at: number },
  isMessage: boolean,
) {
  // Records of one conversation are applied concurrently by several workers: whichever
  // inserts first creates the row (any unique key may be the one that clashes), the others
  // only move last_message_at forward.
  await c.query(
    `insert into conversations (id, creator_id, end_user_id, channel, started_at)
     values ($1, app_creator_id(), $2, $3, to_timestamp($4 / 1000.0))
     on conflict do nothing`,
    [e.conversationId, e.endUserId, e.channel, e.at],
  );
  if (isMessage) {
    await c.query(
      `update conversations
          set last_message_at = greatest(last_message_at, to_timestamp($2 / 1000.0))
        where id = $1`,
      [e.conversationId, e.at],
    );
  }
}

export async function applyMessage(pool: pg.Pool, e: MessageRecorded, eventId: string) {
  await withTenant(pool, e.creatorId, async (c) => {
    await ensureConversation(c, e, true);
    await c.query(
      `insert into messages (creator_id, conversation_id, end_user_id, role, content, metadata,
                             created_at, source_event, delivery_id)
       values (app_creator_id(), $1, $2, $3, $4, $5, to_timestamp($6 / 1000.0), $7, $8)
       on conflict (source_event) do nothing`,
      [
        e.conversationId,
        e.endUserId,
        e.role,
        e.text,
        e.metadata ?? {},
        e.at,
        eventId,
        e.deliveryId ?? null,
      ],
    );
  });
}

export async function applyStatusChange(pool: pg.Pool, e: StatusChanged) {
  await withTenant(pool, e.creatorId, async (c) => {
    await ensureConversation(c, e, false);
    // Events of one conversation come from one actor, in order; `status_at` keeps a redelivered
    // older event from undoing a newer one.
    await c.query(
      `update conversations set status = $2, status_at = to_timestamp($3 / 1000.0)
        where id = $1 and (status_at is null or status_at <= to_timestamp($3 / 1000.0))`,
      [e.conversationId, e.status, e.at],
    );
  });
}

export async function startConversationRecords(o: {
  nc: NatsConnection;
  pool: pg.Pool;
  prefix: string;
  deadLetters: DeadLetters;
  log: Logger;
}) {
  return await startEventConsumer({
    nc: o.nc,
    stream: streamNames(o.prefix).events,
    durable: "conversation-records",
    filter: `${o.prefix}.evt.conversation.>`,
    schema: z.unknown(),
    deadLetters: o.deadLetters,
    log: o.log.child({ component: "conversation-records" }),
    concurrency: 16,
    handle: async (body, meta) => {
      const subject = meta.subject.slice(`${o.prefix}.evt.`.length);
      if (subject === CONVERSATION_EVENTS.message) {
        await applyMessage(o.pool, parseEvent(MessageRecorded, body), meta.id);
      } else if (subject === CONVERSATION_EVENTS.status) {
        await applyStatusChange(o.pool, parseEvent(StatusChanged, body));
      }
      // Other conversation events are for other consumers.
    },
  });
}
