import type pg from "pg";
import type { WebhookEvent } from "./catalog.ts";

/**
 * Queues `event` for every enabled endpoint of its creator subscribed to its type, in the
 * caller's transaction (a system one). An event queued again is ignored per endpoint.
 * @returns how many deliveries were queued
 */
export async function enqueueWebhookEvent(
  client: pg.PoolClient,
  event: WebhookEvent,
): Promise<number> {
  const payload = {
    type: event.type,
    timestamp: new Date(event.at).toISOString(),
    data: { creator_id: event.creatorId, ...event.data },
  };
  const { rowCount } = await client.query(
    `insert into webhook_deliveries (creator_id, endpoint_id, message_id, event_id, event_type,
       payload, next_attempt_at)
     select e.creator_id, e.id, 'msg_' || replace(gen_random_uuid()::text, '-', ''), $2, $3, $4,
            now()
       from webhook_endpoints e
      where e.creator_id = $1 and e.status = 'enabled' and $3 = any (e.event_types)
     on conflict (endpoint_id, event_id) do nothing`,
    [event.creatorId, event.id, event.type, payload],
  );
  return rowCount ?? 0;
}
