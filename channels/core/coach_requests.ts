/**
 * What the UserActor asks of the database, answered by telling it back: the program a person
 * asked to start ("start Sleep basics", a start button) looked up among the creator's published
 * programs, and the creator's badges judged on the metrics a `badge.check` carries (the
 * criteria DSL's `evaluateCriteria`). Actors do no I/O in their turns; this worker does it for
 * them, and the deterministic message ids make a redelivered request a no-op.
 */
import type pg from "pg";
import type { NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import {
  type ActorSystem,
  type DeadLetters,
  type Logger,
  startEventConsumer,
  streamNames,
} from "../../runtime/mod.ts";
import { withTenant } from "../../db/tenant.ts";
import {
  BADGE_EVENTS,
  type Criteria,
  ENROLL_REQUESTED,
  evaluateCriteria,
  FlowDefinition,
  type Metric,
  userAddress,
} from "../../actors/mod.ts";

const EnrollRequested = z.object({
  creatorId: z.uuid(),
  endUserId: z.uuid(),
  query: z.string().min(1).max(200),
});
const BadgeCheck = z.object({
  creatorId: z.uuid(),
  endUserId: z.uuid(),
  metrics: z.record(z.string(), z.number()),
  awarded: z.array(z.string()),
  award: z.uuid().optional(),
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The published version of the creator's program named or identified by `query`. */
export async function findPublished(pool: pg.Pool, creatorId: string, query: string) {
  return await withTenant(pool, creatorId, async (c) => {
    const { rows: [row] } = await c.query<
      { id: string; name: string; version: number; flow: unknown }
    >(
      `select p.id, p.name, v.version, v.flow_definition flow
         from programs p join program_versions v
           on v.program_id = p.id and v.version = p.published_version
        where p.status = 'published' and ${
        UUID.test(query) ? "p.id = $1::uuid" : "lower(p.name) = lower($1)"
      }
        order by p.created_at limit 1`,
      [query.trim()],
    );
    if (!row) return undefined;
    return { ...row, flow: FlowDefinition.parse(row.flow) };
  });
}

interface BadgeRow {
  id: string;
  name: string;
  message: string | null;
  criteria_ast: Criteria;
}

/** The creator's badges, read at most every `ttlMs` per creator. */
class BadgeCatalog {
  readonly #cache = new Map<string, { at: number; badges: Promise<BadgeRow[]> }>();
  constructor(private readonly pool: pg.Pool, private readonly ttlMs: number) {}

  of(creatorId: string): Promise<BadgeRow[]> {
    const hit = this.#cache.get(creatorId);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.badges;
    const badges = withTenant(
      this.pool,
      creatorId,
      async (c) =>
        (await c.query<BadgeRow>("select id, name, message, criteria_ast from badges")).rows,
    );
    this.#cache.set(creatorId, { at: Date.now(), badges });
    badges.catch(() => this.#cache.delete(creatorId));
    if (this.#cache.size > 10_000) this.#cache.delete(this.#cache.keys().next().value!);
    return badges;
  }
}

/** Badges newly earned: the one a flow awards, and every one whose criteria now hold. */
export function newlyEarned(
  badges: BadgeRow[],
  check: z.infer<typeof BadgeCheck>,
): BadgeRow[] {
  return badges.filter((b) =>
    !check.awarded.includes(b.id) &&
    (b.id === check.award ||
      evaluateCriteria(b.criteria_ast, check.metrics as Partial<Record<Metric, number>>))
  );
}

export async function startCoachRequests(o: {
  nc: NatsConnection;
  pool: pg.Pool;
  prefix: string;
  system: Pick<ActorSystem, "client">;
  deadLetters: DeadLetters;
  log: Logger;
  /** How long a creator's badge list is reused (default 5 s). */
  badgeCacheMs?: number;
}): Promise<AsyncDisposable> {
  const stack = new AsyncDisposableStack();
  const client = o.system.client;
  const catalog = new BadgeCatalog(o.pool, o.badgeCacheMs ?? 5000);
  const common = {
    nc: o.nc,
    stream: streamNames(o.prefix).events,
    deadLetters: o.deadLetters,
    concurrency: 16,
  };
  try {
    stack.use(
      await startEventConsumer({
        ...common,
        durable: "program-enroll-requests",
        filter: `${o.prefix}.evt.${ENROLL_REQUESTED}`,
        schema: EnrollRequested,
        log: o.log.child({ component: "program-enroll-requests" }),
        handle: async (e, meta) => {
          const user = userAddress(e.creatorId, e.endUserId);
          const found = await findPublished(o.pool, e.creatorId, e.query);
          if (!found) {
            return await client.tell(user, "programNotFound", { query: e.query }, {
              msgId: `program-not-found:${meta.id}`,
            });
          }
          await client.tell(user, "enroll", {
            programId: found.id,
            version: found.version,
            name: found.name,
            flow: found.flow,
            by: "user",
          }, { msgId: `program-enroll:${meta.id}` });
        },
      }),
    );
    stack.use(
      await startEventConsumer({
        ...common,
        durable: "badge-checks",
        filter: `${o.prefix}.evt.${BADGE_EVENTS.check}`,
        schema: BadgeCheck,
        log: o.log.child({ component: "badge-checks" }),
        handle: async (e) => {
          const earned = newlyEarned(await catalog.of(e.creatorId), e);
          const user = userAddress(e.creatorId, e.endUserId);
          for (const b of earned) {
            // One id per person and badge: however many checks find it, it is told once
            // within the duplicate window, and the actor awards it once in any case.
            await client.tell(user, "awardBadge", {
              badgeId: b.id,
              name: b.name,
              message: b.message,
            }, { msgId: `award-badge:${e.creatorId}:${e.endUserId}:${b.id}` });
          }
        },
      }),
    );
    return stack.move();
  } catch (err) {
    await stack.disposeAsync();
    throw err;
  }
}
