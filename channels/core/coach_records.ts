/**
 * The proactive coach's read models, projected from the UserActor's committed events: each
 * program's progress (`program_progress`, the newest revision wins however events interleave),
 * badges (`user_badges`, one row per badge), achievements (one row per key) and the learned
 * profile (`end_users.profile.insights`, the newest report wins). A row for a person or program
 * deleted since is skipped.
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
import { withTenant } from "../../db/tenant.ts";
import { ProgramProgress } from "../../actors/mod.ts";

const Owner = { creatorId: z.uuid(), endUserId: z.uuid() };
const ProgramEvent = z.object({ ...Owner, progress: ProgramProgress });
const BadgeAwarded = z.object({ ...Owner, badgeId: z.uuid(), at: z.number() });
const AchievementReached = z.object({
  ...Owner,
  key: z.string(),
  kind: z.string(),
  title: z.string(),
  data: z.record(z.string(), z.unknown()),
  at: z.number(),
});
const InsightsReported = z.object({
  ...Owner,
  at: z.number(),
  insights: z.record(z.string(), z.unknown()),
});

const FOREIGN_KEY_VIOLATION = "23503";

/** Runs a write as the event's creator; a row whose person or program is gone is skipped. */
async function write(pool: pg.Pool, creatorId: string, sql: string, params: unknown[]) {
  try {
    await withTenant(pool, creatorId, (c) => c.query(sql, params));
  } catch (err) {
    if ((err as { code?: string }).code !== FOREIGN_KEY_VIOLATION) throw err;
  }
}

const ms = (n: number | null) => (n === null ? null : new Date(n));

export function applyProgress(pool: pg.Pool, e: z.infer<typeof ProgramEvent>) {
  const p = e.progress;
  return write(
    pool,
    e.creatorId,
    `insert into program_progress (creator_id, end_user_id, program_id, program_version,
       current_step, status, data, started_at, updated_at, completed_at, rev)
     values (app_creator_id(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     on conflict (end_user_id, program_id) do update set
       program_version = excluded.program_version, current_step = excluded.current_step,
       status = excluded.status, data = excluded.data, started_at = excluded.started_at,
       updated_at = excluded.updated_at, completed_at = excluded.completed_at, rev = excluded.rev
     where program_progress.rev < excluded.rev`,
    [
      e.endUserId,
      p.programId,
      p.version,
      p.currentStep,
      p.status,
      { answers: p.answers, checkpoints: p.checkpoints },
      ms(p.startedAt),
      ms(p.updatedAt),
      ms(p.completedAt),
      p.rev,
    ],
  );
}

export function applyBadge(pool: pg.Pool, e: z.infer<typeof BadgeAwarded>) {
  return write(
    pool,
    e.creatorId,
    `insert into user_badges (creator_id, end_user_id, badge_id, awarded_at)
     values (app_creator_id(), $1, $2, $3) on conflict do nothing`,
    [e.endUserId, e.badgeId, ms(e.at)],
  );
}

export function applyAchievement(pool: pg.Pool, e: z.infer<typeof AchievementReached>) {
  return write(
    pool,
    e.creatorId,
    `insert into achievements (creator_id, end_user_id, kind, title, data, achieved_at, source_key)
     values (app_creator_id(), $1, $2, $3, $4, $5, $6)
     on conflict (end_user_id, source_key) do nothing`,
    [e.endUserId, e.kind, e.title, e.data, ms(e.at), e.key],
  );
}

export function applyInsights(pool: pg.Pool, e: z.infer<typeof InsightsReported>) {
  return write(
    pool,
    e.creatorId,
    `update end_users
        set profile = profile || jsonb_build_object('insights', $2::jsonb, 'insights_at', $3::float8)
      where id = $1 and coalesce((profile ->> 'insights_at')::float8, 0) <= $3`,
    [e.endUserId, JSON.stringify(e.insights), e.at],
  );
}

export async function startCoachRecords(o: {
  nc: NatsConnection;
  pool: pg.Pool;
  prefix: string;
  deadLetters: DeadLetters;
  log: Logger;
}): Promise<AsyncDisposable> {
  const stack = new AsyncDisposableStack();
  try {
    const consumer = async <T>(
      durable: string,
      subject: string,
      schema: z.ZodType<T>,
      apply: (pool: pg.Pool, e: T) => Promise<void>,
    ): Promise<EventConsumer> =>
      await startEventConsumer({
        nc: o.nc,
        stream: streamNames(o.prefix).events,
        durable,
        filter: `${o.prefix}.evt.${subject}`,
        schema: z.unknown(),
        deadLetters: o.deadLetters,
        log: o.log.child({ component: durable }),
        concurrency: 16,
        handle: async (body) => {
          // Other events under program.> (enrolment requests) are not progress.
          const parsed = schema.safeParse(body);
          if (parsed.success) await apply(o.pool, parsed.data);
        },
      });
    stack.use(await consumer("program-progress", "program.>", ProgramEvent, applyProgress));
    stack.use(await consumer("badge-records", "badge.awarded", BadgeAwarded, applyBadge));
    stack.use(
      await consumer(
        "achievement-records",
        "achievement.reached",
        AchievementReached,
        applyAchievement,
      ),
    );
    stack.use(await consumer("user-insights", "user.insights", InsightsReported, applyInsights));
    return stack.move();
  } catch (err) {
    await stack.disposeAsync();
    throw err;
  }
}
