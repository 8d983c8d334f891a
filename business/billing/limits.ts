/**
 * Plan limits where the work happens: the admin API asks before it creates (knowledge bases,
 * documents, channels, members), the intake before it takes a message in or creates an end user.
 * A refusal is recorded once per creator, limit and month (`plan_limit_hits`): the first one
 * writes the audit log, queues a `plan.limit_reached` webhook and e-mails the creator, so the
 * coach never goes quiet without the creator knowing why.
 */
import type pg from "pg";
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import type { Logger } from "../../runtime/mod.ts";
import { withSystem, withTenant } from "../../db/tenant.ts";
import type { Mailer } from "../email/mailer.ts";
import { enqueueWebhookEvent } from "../webhooks/enqueue.ts";
import type { Billing } from "./billing.ts";
import { LIMIT_LABELS, type LimitName, type PlanId, PLANS } from "./plans.ts";
import { monthOf, usageOf } from "./usage.ts";
import { MessageCounter } from "./message_counter.ts";

export interface Verdict {
  allowed: boolean;
  limit: LimitName;
  plan: PlanId;
  usage: number;
  limitValue: number;
  adding: number;
}

export interface PlanLimitsOptions {
  pool: pg.Pool;
  billing: Billing;
  log: Logger;
  mailer?: Mailer;
  nc?: NatsConnection;
  prefix?: string;
  /** How long a node trusts a creator's plan for the message count (default 10 s). */
  planCacheMs?: number;
}

const CONSEQUENCE: Record<LimitName, string> = {
  end_users: "New people who write to your coach are not taken in until the limit is raised.",
  messages_per_month:
    "Your coach does not answer new messages until next month or until the limit is raised.",
  knowledge_bases: "No more knowledge bases can be created.",
  document_bytes: "No more documents can be uploaded.",
  channels: "No more channels can be connected.",
  members: "No more team members can be added.",
};

export class PlanLimits {
  readonly #o: PlanLimitsOptions;
  readonly #plans = new Map<string, { plan: PlanId; until: number }>();
  readonly #messages: MessageCounter;
  readonly #recorded = new Map<string, number>();
  constructor(o: PlanLimitsOptions) {
    this.#o = o;
    this.#messages = new MessageCounter(o.pool, o.log);
  }

  /** Resolves once every counted message is written (tests, shutdown). */
  settled(): Promise<void> {
    return this.#messages.settled();
  }

  #now = () => new Date(this.#o.billing.clock.now());

  /** Whether adding `adding` to `limit` stays within the plan, in a tenant transaction. */
  async checkIn(client: pg.PoolClient, limit: LimitName, adding: number): Promise<Verdict> {
    const plan = await this.#o.billing.planIn(client);
    const usage = (await usageOf(client, this.#now()))[limit];
    const limitValue = PLANS[plan].limits[limit];
    return { allowed: usage + adding <= limitValue, limit, plan, usage, limitValue, adding };
  }

  async check(creatorId: string, limit: LimitName, adding = 1): Promise<Verdict> {
    return await withTenant(this.#o.pool, creatorId, (c) => this.checkIn(c, limit, adding));
  }

  /**
   * Records a refusal; the first of the month per limit tells the creator. With `throttle` (the
   * intake, where a creator over quota may refuse every message), a node records a limit at most
   * once a minute.
   */
  async refused(creatorId: string, v: Verdict, { throttle = false } = {}): Promise<void> {
    const month = monthOf(this.#now());
    const key = `${creatorId}:${v.limit}:${month}`;
    if (throttle) {
      const last = this.#recorded.get(key);
      if (last !== undefined && Date.now() - last < 60_000) return;
      this.#recorded.set(key, Date.now());
      if (this.#recorded.size > 10_000) this.#recorded.delete(this.#recorded.keys().next().value!);
    }
    const first = await withSystem(this.#o.pool, async (c) => {
      const { rows: [hit] } = await c.query<{ first: boolean }>(
        `insert into plan_limit_hits (creator_id, limit_name, month, plan, usage, limit_value)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (creator_id, limit_name, month)
           do update set refusals = plan_limit_hits.refusals + 1
         returning (xmax = 0) as first`,
        [creatorId, v.limit, month, v.plan, v.usage, v.limitValue],
      );
      if (!hit?.first) return false;
      const details = { limit: v.limit, plan: v.plan, usage: v.usage, limit_value: v.limitValue };
      await c.query(
        `insert into audit_log (creator_id, actor_kind, actor_subject, action, resource_type,
           resource_id, details) values ($1, 'system', 'plan', 'plan.limit_reached', 'plan', $2, $3)`,
        [creatorId, v.limit, details],
      );
      await enqueueWebhookEvent(c, {
        id: `limit:${creatorId}:${v.limit}:${month}`,
        type: "plan.limit_reached",
        creatorId,
        at: this.#now().getTime(),
        data: details,
      });
      return true;
    });
    if (!first) return;
    this.#o.log.info("plan limit reached", { creator_id: creatorId, limit: v.limit });
    if (this.#o.nc && this.#o.prefix) {
      await jetstream(this.#o.nc).publish(
        `${this.#o.prefix}.evt.plan.limit_reached`,
        JSON.stringify({
          creatorId,
          limit: v.limit,
          plan: v.plan,
          usage: v.usage,
          limitValue: v.limitValue,
          at: this.#now().getTime(),
        }),
        { msgID: `limit:${creatorId}:${v.limit}:${month}` },
      ).catch((err) => this.#o.log.warn("limit event not published", { error: String(err) }));
    }
    await this.#o.mailer?.toCreator(creatorId, "plan_limit_reached", {
      plan: PLANS[v.plan].name,
      limit: String(v.limitValue),
      usage: String(v.usage),
      limit_label: LIMIT_LABELS[v.limit],
      consequence: CONSEQUENCE[v.limit],
      link: this.#o.mailer.link("/v1/billing"),
    });
  }

  /** Counts one inbound message and says whether the month's quota still takes it. */
  async admitMessage(creatorId: string): Promise<boolean> {
    const used = await this.#messages.add(creatorId, monthOf(this.#now()));
    const plan = await this.#cachedPlan(creatorId);
    const limitValue = PLANS[plan].limits.messages_per_month;
    if (used <= limitValue) return true;
    await this.refused(creatorId, {
      allowed: false,
      limit: "messages_per_month",
      plan,
      usage: used - 1,
      limitValue,
      adding: 1,
    }, { throttle: true });
    return false;
  }

  /** Whether one more end user fits, asked inside the intake's tenant transaction. */
  async admitNewPerson(tx: pg.PoolClient, creatorId: string): Promise<boolean> {
    const v = await this.checkIn(tx, "end_users", 1);
    if (v.allowed) return true;
    await this.refused(creatorId, v, { throttle: true });
    return false;
  }

  async #cachedPlan(creatorId: string): Promise<PlanId> {
    const now = Date.now();
    const hit = this.#plans.get(creatorId);
    if (hit && hit.until > now) return hit.plan;
    const plan = await withTenant(this.#o.pool, creatorId, (c) => this.#o.billing.planIn(c));
    this.#plans.set(creatorId, { plan, until: now + (this.#o.planCacheMs ?? 10_000) });
    if (this.#plans.size > 10_000) this.#plans.delete(this.#plans.keys().next().value!);
    return plan;
  }
}
