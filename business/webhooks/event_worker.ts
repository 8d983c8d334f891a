/**
 * Turns committed events of the events stream into webhook deliveries: one durable consumer per
 * source subject (catalog.ts), each event queued once per subscribed endpoint. A handoff also
 * tells the creator by e-mail.
 */
import type pg from "pg";
import type { NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import {
  type DeadLetters,
  type EventConsumer,
  type Logger,
  startEventConsumer,
  streamNames,
} from "../../runtime/mod.ts";
import { withSystem } from "../../db/tenant.ts";
import type { Mailer } from "../email/mailer.ts";
import { SOURCE_SUBJECTS, webhookEventOf } from "./catalog.ts";
import { enqueueWebhookEvent } from "./enqueue.ts";

export interface WebhookEventWorkerOptions {
  nc: NatsConnection;
  pool: pg.Pool;
  prefix: string;
  deadLetters: DeadLetters;
  log: Logger;
  mailer?: Mailer;
}

export async function startWebhookEventWorkers(
  o: WebhookEventWorkerOptions,
): Promise<AsyncDisposable> {
  const consumers: EventConsumer[] = [];
  const log = o.log.child({ component: "webhook-events" });
  const stop = async () => {
    await Promise.allSettled(consumers.map((c) => c.stop()));
  };
  try {
    for (const subject of SOURCE_SUBJECTS) {
      consumers.push(
        await startEventConsumer({
          nc: o.nc,
          stream: streamNames(o.prefix).events,
          durable: `webhooks-${subject.replace(/\./g, "-")}`,
          filter: `${o.prefix}.evt.${subject}`,
          schema: z.unknown(),
          deadLetters: o.deadLetters,
          log,
          handle: async (body, meta) => {
            const event = webhookEventOf(subject, meta.id, body);
            if (!event) return;
            await withSystem(o.pool, (c) => enqueueWebhookEvent(c, event));
            if (event.type === "handoff.requested" && meta.attempt === 1) {
              await o.mailer?.toCreator(event.creatorId, "handoff_waiting", {
                channel: String(event.data.channel ?? ""),
                reason: String(event.data.reason ?? "handoff"),
                last_message: String(event.data.last_message ?? "").slice(0, 500),
                link: o.mailer.link("/v1/handoffs"),
              });
            }
          },
        }),
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { [Symbol.asyncDispose]: stop };
}
