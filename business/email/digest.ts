/**
 * The weekly digest: once a week per creator (unless `settings.weekly_digest` is false), the last
 * seven days in four figures, e-mailed to the account address. Which creators are due is read
 * from `email_log`, so a digest is sent once a week whichever node runs the worker.
 */
import type pg from "pg";
import { type Clock, type Logger, realClock } from "../../runtime/mod.ts";
import { withSystem, withTenant } from "../../db/tenant.ts";
import { effectivePlan, PLANS } from "../billing/plans.ts";
import type { Mailer } from "./mailer.ts";

const WEEK_MS = 7 * 86400_000;

export interface DigestFigures {
  new_end_users: number;
  messages: number;
  handoffs: number;
  active_end_users: number;
}

/** The last seven days of the tenant of this transaction. */
export async function digestFigures(client: pg.PoolClient, now: Date): Promise<DigestFigures> {
  const since = new Date(now.getTime() - WEEK_MS);
  const { rows: [r] } = await client.query<Record<keyof DigestFigures, string>>(
    `select (select count(*) from end_users where created_at >= $1) new_end_users,
       (select count(*) from messages where role = 'user' and created_at >= $1) messages,
       (select count(*) from conversations where status = 'handoff' and last_message_at >= $1)
         handoffs,
       (select count(*) from end_users where last_active_at >= $1) active_end_users`,
    [since],
  );
  return Object.fromEntries(Object.entries(r!).map(([k, v]) => [k, Number(v)])) as never;
}

/** Sends the digests that are due; returns how many were attempted. */
export async function sendDueDigests(
  { pool, mailer, now }: { pool: pg.Pool; mailer: Mailer; now: Date },
): Promise<number> {
  const due = await withSystem(pool, async (c) =>
    (await c.query<{ id: string }>(
      `select cr.id from creators cr
        where coalesce((cr.settings->>'weekly_digest')::boolean, true)
          and cr.created_at <= $1
          and not exists (select 1 from email_log l where l.creator_id = cr.id
                            and l.template = 'weekly_digest' and l.created_at > $1)
        limit 500`,
      [new Date(now.getTime() - WEEK_MS)],
    )).rows);
  for (const { id } of due) {
    const { figures, plan } = await withTenant(pool, id, async (c) => {
      const { rows: [b] } = await c.query("select * from creator_billing");
      return {
        figures: await digestFigures(c, now),
        plan: effectivePlan(
          b && {
            plan: b.plan,
            status: b.status,
            currentPeriodEnd: b.current_period_end,
            cancelAtPeriodEnd: b.cancel_at_period_end,
            graceUntil: b.grace_until,
          },
          now,
        ),
      };
    });
    await mailer.toCreator(id, "weekly_digest", {
      ...Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, String(v)])),
      plan: PLANS[plan].name,
      link: mailer.link("/v1/billing"),
    });
  }
  return due.length;
}

/** Looks for due digests hourly. */
export function startDigestWorker(
  { pool, mailer, log, clock = realClock, everyMs = 3600_000 }: {
    pool: pg.Pool;
    mailer: Mailer;
    log: Logger;
    clock?: Clock;
    everyMs?: number;
  },
): AsyncDisposable {
  let timer: number | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const tick = () => {
    running = sendDueDigests({ pool, mailer, now: new Date(clock.now()) })
      .catch((err) => log.warn("weekly digests failed", { error: String(err) }))
      .finally(() => {
        if (!stopped) timer = clock.setTimeout(tick, everyMs);
      });
  };
  timer = clock.setTimeout(tick, 60_000);
  return {
    async [Symbol.asyncDispose]() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      await running;
    },
  };
}
