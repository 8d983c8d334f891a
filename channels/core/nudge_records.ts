/**
 * The `nudges` table creators and analytics read: a projection of the UserActors' nudge events.
 * Each attempt is inserted once (its id is the row's); an outcome only fills its column once,
 * and an outcome arriving before its nudge (events of one actor come in order, but a retried
 * insert may lag) is retried until the row exists.
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
import {
  NUDGE_EVENTS,
  NudgeOutcome,
  NudgeSent,
  NudgeSkipped,
} from "../../actors/user/proactive/events.ts";

const ts = (ms: number | undefined) => (ms === undefined ? null : new Date(ms));

export async function applyNudgeSent(pool: pg.Pool, e: NudgeSent) {
  await withTenant(pool, e.creatorId, (c) =>
    c.query(
      `insert into nudges (id, creator_id, end_user_id, trigger, step, status, channel, kind,
                           delivery_id, local_hour, usual_hour, at)
       values ($1, app_creator_id(), $2, $3, $4, 'sent', $5, $6, $7, $8, $9, $10)
       on conflict (id) do nothing`,
      [
        e.nudgeId,
        e.endUserId,
        e.trigger,
        e.step ?? null,
        e.channel,
        e.kind,
        e.deliveryId,
        e.localHour,
        e.usualHour,
        ts(e.at),
      ],
    ));
}

export async function applyNudgeSkipped(pool: pg.Pool, e: NudgeSkipped) {
  await withTenant(pool, e.creatorId, (c) =>
    c.query(
      `insert into nudges (id, creator_id, end_user_id, trigger, step, status, reason, retry_at, at)
       values ($1, app_creator_id(), $2, $3, $4, 'skipped', $5, $6, $7)
       on conflict (id) do nothing`,
      [e.nudgeId, e.endUserId, e.trigger, e.step ?? null, e.reason, ts(e.retryAt), ts(e.at)],
    ));
}

export async function applyNudgeOutcome(pool: pg.Pool, e: NudgeOutcome) {
  const column = e.outcome === "replied" ? "replied_at" : "opted_out_at";
  const res = await withTenant(pool, e.creatorId, (c) =>
    c.query(
      `update nudges set ${column} = coalesce(${column}, $2) where id = $1`,
      [e.nudgeId, ts(e.at)],
    ));
  if (!res.rowCount) throw new Error(`nudge ${e.nudgeId} is not recorded yet`);
}

export async function startNudgeRecords(o: {
  nc: NatsConnection;
  pool: pg.Pool;
  prefix: string;
  deadLetters: DeadLetters;
  log: Logger;
}) {
  return await startEventConsumer({
    nc: o.nc,
    stream: streamNames(o.prefix).events,
    durable: "nudge-records",
    filter: `${o.prefix}.evt.nudge.>`,
    schema: z.unknown(),
    deadLetters: o.deadLetters,
    log: o.log.child({ component: "nudge-records" }),
    concurrency: 32,
    retryDelayMs: 200,
    handle: async (body, meta) => {
      const subject = meta.subject.slice(`${o.prefix}.evt.`.length);
      if (subject === NUDGE_EVENTS.sent) await applyNudgeSent(o.pool, parseEvent(NudgeSent, body));
      else if (subject === NUDGE_EVENTS.skipped) {
        await applyNudgeSkipped(o.pool, parseEvent(NudgeSkipped, body));
      } else if (subject === NUDGE_EVENTS.outcome) {
        await applyNudgeOutcome(o.pool, parseEvent(NudgeOutcome, body));
      }
    },
  });
}
