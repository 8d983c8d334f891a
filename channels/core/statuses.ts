/**
 * Provider status callbacks (delivered, read, failed, with what the provider charged). A webhook
 * puts each on the events stream and answers; a worker applies it to the delivery row that holds
 * the provider's message id, forward only. A callback can overtake our own record of the send
 * (the provider answers, then calls back at once): a status whose message id is not recorded yet
 * is retried for a while, then dead-lettered where an operator sees it.
 */
import type pg from "pg";
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { z } from "zod";
import {
  type DeadLetters,
  type Logger,
  startEventConsumer,
  streamNames,
} from "../../runtime/mod.ts";
import { withTenant } from "../../db/tenant.ts";
import { canMove, type DeliveryStatus, stampColumn } from "./delivery_status.ts";
import type { ChannelMetrics } from "./metrics.ts";

export const STATUS_SUBJECT = "channel.status";

export const ProviderStatus = z.object({
  creatorId: z.uuid(),
  connectionId: z.uuid(),
  channel: z.string(),
  providerMessageId: z.string().min(1).max(300),
  status: z.enum(["sent", "delivered", "read", "failed"]),
  /** Provider time of the status, epoch ms. */
  at: z.number(),
  /** Why it failed, as the provider says (code and title). */
  error: z.string().max(1000).optional(),
  pricing: z.object({ category: z.string().max(100), billable: z.boolean().optional() })
    .optional(),
});
export type ProviderStatus = z.infer<typeof ProviderStatus>;

/** Puts a status on the events stream; resolves once JetStream has it (then answer the hook). */
export async function publishStatus(
  nc: NatsConnection,
  prefix: string,
  s: ProviderStatus,
): Promise<void> {
  await jetstream(nc).publish(`${prefix}.evt.${STATUS_SUBJECT}`, JSON.stringify(s), {
    // The same callback delivered twice is stored once.
    msgID: `status:${s.connectionId}:${s.providerMessageId}:${s.status}`,
  });
}

export class StatusNotYetKnownError extends Error {
  constructor(readonly providerMessageId: string) {
    super(`No delivery records provider message ${providerMessageId} yet`);
    this.name = "StatusNotYetKnownError";
  }
}

/**
 * Applies one status. Returns whether the row moved; throws StatusNotYetKnownError when no
 * delivery holds the message id.
 */
export async function applyStatus(pool: pg.Pool, s: ProviderStatus): Promise<boolean> {
  return await withTenant(pool, s.creatorId, async (c) => {
    const found = await c.query<{ id: string; status: DeliveryStatus }>(
      `select id, status from deliveries
        where connection_id = $1 and provider_message_ids @> array[$2::text] for update`,
      [s.connectionId, s.providerMessageId],
    );
    const row = found.rows[0];
    if (!row) throw new StatusNotYetKnownError(s.providerMessageId);
    const moves = canMove(row.status, s.status);
    const stamp = stampColumn(s.status);
    // Pricing is recorded whatever the order; the status and its reason only move forward.
    await c.query(
      `update deliveries
          set status = case when $2 then $3 else status end,
              reason = case when $2 and $3 = 'failed' then coalesce($4, reason) else reason end,
              ${stamp ? `${stamp} = ${stampSql(stamp, s.status)},` : ""}
              pricing_category = coalesce($6, pricing_category),
              billable = coalesce($7, billable),
              updated_at = now()
        where id = $1`,
      [
        row.id,
        moves,
        s.status,
        s.error ?? null,
        s.at,
        s.pricing?.category ?? null,
        s.pricing?.billable ?? null,
      ],
    );
    return moves;
  });
}

/**
 * A late "delivered" after "read" still records when it was delivered; a failure's time only
 * counts when the failure itself does.
 */
function stampSql(column: string, status: ProviderStatus["status"]): string {
  const value = `coalesce(${column}, to_timestamp($5 / 1000.0))`;
  return status === "failed" ? `case when $2 then ${value} else ${column} end` : value;
}

/** The worker that applies provider statuses from the events stream. */
export async function startStatusWorker(o: {
  nc: NatsConnection;
  pool: pg.Pool;
  prefix: string;
  deadLetters: DeadLetters;
  metrics: ChannelMetrics;
  log: Logger;
  /** Tries before a status whose message is still unknown is dead-lettered (default 6). */
  maxDeliver?: number;
  retryDelayMs?: number;
}) {
  return await startEventConsumer({
    nc: o.nc,
    stream: streamNames(o.prefix).events,
    durable: "provider-statuses",
    filter: `${o.prefix}.evt.${STATUS_SUBJECT}`,
    schema: ProviderStatus,
    deadLetters: o.deadLetters,
    log: o.log.child({ component: "statuses" }),
    maxDeliver: o.maxDeliver ?? 6,
    retryDelayMs: o.retryDelayMs ?? 500,
    concurrency: 16,
    handle: async (s) => {
      if (await applyStatus(o.pool, s)) {
        o.metrics.deliveries.inc({ channel: s.channel, status: s.status });
      }
    },
  });
}
