/**
 * A creator's subscription with Stripe: Checkout to upgrade, the customer portal to manage it,
 * and Stripe's events applied to the stored state. Each event is applied once (its id recorded in
 * the same transaction), and always from the subscription as Stripe has it now (fetched), so
 * events arriving twice or out of order leave the newest state.
 */
import type pg from "pg";
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { type Clock, type Logger, realClock } from "../../runtime/mod.ts";
import { withSystem, withTenant } from "../../db/tenant.ts";
import type { Mailer } from "../email/mailer.ts";
import { enqueueWebhookEvent } from "../webhooks/enqueue.ts";
import {
  type BillingState,
  effectivePlan,
  type Limits,
  type PaidPlanId,
  type PlanId,
  PLANS,
} from "./plans.ts";
import { type Stripe, webCrypto } from "./stripe_client.ts";
import { monthOf, type Usage, usageOf } from "./usage.ts";

export class BillingNotConfiguredError extends Error {
  constructor(what: string) {
    super(`Billing is not configured: ${what}`);
    this.name = "BillingNotConfiguredError";
  }
}

export interface BillingOptions {
  pool: pg.Pool;
  log: Logger;
  stripe?: Stripe;
  webhookSecret?: string;
  /** Stripe price ids of the paid plans. */
  prices: Partial<Record<PaidPlanId, string>>;
  /** Days a failed payment keeps the plan (default 7). */
  graceDays?: number;
  mailer?: Mailer;
  /** With these, `subscription.changed` is also published on the events stream. */
  nc?: NatsConnection;
  prefix?: string;
  clock?: Clock;
}

export interface BillingOverview {
  plan: PlanId;
  plan_name: string;
  /** The subscribed plan, which may differ from `plan` (e.g. after the grace period). */
  subscribed_plan: string;
  status: string;
  limits: Limits;
  usage: Usage;
  usage_month: string;
  current_period_end: string | null;
  cancel_at_period_end: boolean;
  grace_until: string | null;
}

interface Row {
  creator_id: string;
  stripe_customer_id: string | null;
  stripe_subscription_id: string | null;
  plan: string;
  status: string;
  current_period_end: Date | null;
  cancel_at_period_end: boolean;
  grace_until: Date | null;
}

const stateOf = (r: Row | undefined): BillingState | undefined =>
  r && {
    plan: r.plan,
    status: r.status,
    currentPeriodEnd: r.current_period_end,
    cancelAtPeriodEnd: r.cancel_at_period_end,
    graceUntil: r.grace_until,
  };

export type ApplyOutcome = "applied" | "duplicate" | "ignored";

export class Billing {
  readonly #o: BillingOptions;
  readonly clock: Clock;
  constructor(o: BillingOptions) {
    this.#o = o;
    this.clock = o.clock ?? realClock;
  }

  get configured(): boolean {
    return this.#o.stripe !== undefined;
  }

  #now = () => new Date(this.clock.now());

  /** The plan whose limits hold for the tenant of this transaction. */
  async planIn(client: pg.PoolClient): Promise<PlanId> {
    const { rows: [r] } = await client.query<Row>("select * from creator_billing");
    return effectivePlan(stateOf(r), this.#now());
  }

  /** Plan, subscription, limits and usage of a creator. */
  async overview(creatorId: string): Promise<BillingOverview> {
    return await withTenant(this.#o.pool, creatorId, async (c) => {
      const now = this.#now();
      const { rows: [r] } = await c.query<Row>("select * from creator_billing");
      const plan = effectivePlan(stateOf(r), now);
      return {
        plan,
        plan_name: PLANS[plan].name,
        subscribed_plan: r?.plan ?? "free",
        status: r?.status ?? "none",
        limits: PLANS[plan].limits,
        usage: await usageOf(c, now),
        usage_month: monthOf(now),
        current_period_end: r?.current_period_end?.toISOString() ?? null,
        cancel_at_period_end: r?.cancel_at_period_end ?? false,
        grace_until: r?.grace_until?.toISOString() ?? null,
      };
    });
  }

  #stripe(): Stripe {
    if (!this.#o.stripe) throw new BillingNotConfiguredError("STRIPE_SECRET_KEY is not set");
    return this.#o.stripe;
  }

  /** The creator's Stripe customer, created on first use. */
  async #customer(creatorId: string): Promise<string> {
    const known = await withSystem(
      this.#o.pool,
      async (c) =>
        (await c.query<{ stripe_customer_id: string | null; email: string; name: string }>(
          `select b.stripe_customer_id, cr.email, cr.name from creators cr
           left join creator_billing b on b.creator_id = cr.id where cr.id = $1`,
          [creatorId],
        )).rows[0],
    );
    if (!known) throw new BillingNotConfiguredError(`creator ${creatorId} is unknown`);
    if (known.stripe_customer_id) return known.stripe_customer_id;
    const customer = await this.#stripe().customers.create(
      { email: known.email, name: known.name, metadata: { creator_id: creatorId } },
      { idempotencyKey: `customer:${creatorId}` },
    );
    await withSystem(this.#o.pool, (c) =>
      c.query(
        `insert into creator_billing (creator_id, stripe_customer_id) values ($1, $2)
         on conflict (creator_id) do update
           set stripe_customer_id = coalesce(creator_billing.stripe_customer_id, excluded.stripe_customer_id)`,
        [creatorId, customer.id],
      ));
    return customer.id;
  }

  /** A Checkout session for `plan`; the plan changes when Stripe's events say it was paid. */
  async checkout(
    creatorId: string,
    plan: PaidPlanId,
    urls: { successUrl: string; cancelUrl: string },
  ): Promise<{ id: string; url: string }> {
    const price = this.#o.prices[plan];
    if (!price) throw new BillingNotConfiguredError(`no Stripe price for plan ${plan}`);
    const customer = await this.#customer(creatorId);
    const session = await this.#stripe().checkout.sessions.create({
      mode: "subscription",
      customer,
      client_reference_id: creatorId,
      line_items: [{ price, quantity: 1 }],
      success_url: urls.successUrl,
      cancel_url: urls.cancelUrl,
      metadata: { creator_id: creatorId, plan },
      subscription_data: { metadata: { creator_id: creatorId, plan } },
    });
    if (!session.url) throw new Error("Stripe returned a Checkout session without a URL");
    return { id: session.id, url: session.url };
  }

  /** A customer portal session (payment method, invoices, cancellation). */
  async portal(creatorId: string, returnUrl: string): Promise<{ url: string }> {
    const customer = await this.#customer(creatorId);
    const session = await this.#stripe().billingPortal.sessions.create({
      customer,
      return_url: returnUrl,
    });
    return { url: session.url };
  }

  /**
   * Checks `Stripe-Signature` over the raw body and parses the event.
   * @throws Stripe's StripeSignatureVerificationError on a forged or stale signature
   */
  async verify(raw: string, signature: string): Promise<Stripe.Event> {
    if (!this.#o.webhookSecret) {
      throw new BillingNotConfiguredError("STRIPE_WEBHOOK_SECRET is not set");
    }
    return await this.#stripe().webhooks.constructEventAsync(
      raw,
      signature,
      this.#o.webhookSecret,
      undefined,
      webCrypto,
    );
  }

  #planOfPrice(priceId: string | undefined): PlanId {
    for (const [plan, id] of Object.entries(this.#o.prices)) {
      if (id && id === priceId) return plan as PlanId;
    }
    return "free";
  }

  /** The subscription as Stripe has it now; null when it no longer exists. */
  async #currentSubscription(id: string): Promise<Stripe.Subscription | null> {
    try {
      return await this.#stripe().subscriptions.retrieve(id);
    } catch (err) {
      if ((err as { code?: string }).code === "resource_missing") return null;
      throw err;
    }
  }

  /** Applies one verified event, once. */
  async apply(event: Stripe.Event): Promise<ApplyOutcome> {
    const obj = event.data.object as unknown as Record<string, unknown>;
    const idOf = (v: unknown) =>
      typeof v === "string" ? v : (v as { id?: string } | null)?.id ?? undefined;
    let subscriptionId: string | undefined;
    let customerId = idOf(obj.customer);
    let creatorHint: string | undefined;
    switch (event.type) {
      case "checkout.session.completed":
        subscriptionId = idOf(obj.subscription);
        creatorHint = (obj.client_reference_id as string | null) ??
          (obj.metadata as Record<string, string> | null)?.creator_id;
        break;
      case "customer.subscription.created":
      case "customer.subscription.updated":
      case "customer.subscription.deleted":
      case "customer.subscription.paused":
      case "customer.subscription.resumed":
        subscriptionId = idOf(obj.id);
        creatorHint = (obj.metadata as Record<string, string> | null)?.creator_id;
        break;
      case "invoice.payment_failed":
      case "invoice.paid":
      case "invoice.payment_succeeded": {
        const parent = obj.parent as
          | { subscription_details?: { subscription?: unknown } }
          | null;
        subscriptionId = idOf(parent?.subscription_details?.subscription ?? obj.subscription);
        break;
      }
      default:
        customerId = undefined;
    }
    // Fetched before the transaction: no network call while rows are locked.
    const current = subscriptionId ? await this.#currentSubscription(subscriptionId) : undefined;
    const now = this.#now();
    const graceMs = (this.#o.graceDays ?? 7) * 86400_000;
    const result = await withSystem(this.#o.pool, async (c) => {
      const fresh = await c.query(
        "insert into stripe_events (id, type) values ($1, $2) on conflict do nothing",
        [event.id, event.type],
      );
      if (fresh.rowCount === 0) return { outcome: "duplicate" as const };
      const { rows: [found] } = await c.query<Row>(
        `select * from creator_billing
          where ($1::text is not null and stripe_customer_id = $1)
             or ($2::uuid is not null and creator_id = $2)
          order by (stripe_customer_id = $1) desc nulls last limit 1 for update`,
        [customerId ?? null, isUuid(creatorHint) ? creatorHint : null],
      );
      if (!found) return { outcome: "ignored" as const };
      await c.query("update stripe_events set creator_id = $2 where id = $1", [
        event.id,
        found.creator_id,
      ]);
      const before = effectivePlan(stateOf(found), now);
      const next: Row = { ...found };
      if (current !== undefined) {
        if (current === null) {
          next.status = "canceled";
        } else {
          const item = current.items.data[0];
          next.stripe_subscription_id = current.id;
          next.plan = this.#planOfPrice(item?.price.id);
          next.status = current.status;
          next.current_period_end = item?.current_period_end
            ? new Date(item.current_period_end * 1000)
            : null;
          next.cancel_at_period_end = current.cancel_at_period_end;
        }
      }
      let paymentFailed = false;
      if (event.type === "invoice.payment_failed" && !next.grace_until) {
        next.grace_until = new Date(now.getTime() + graceMs);
        paymentFailed = true;
      }
      if ((next.status === "past_due" || next.status === "unpaid") && !next.grace_until) {
        next.grace_until = new Date(now.getTime() + graceMs);
      }
      if (
        next.status === "active" || next.status === "trialing" || event.type === "invoice.paid" ||
        event.type === "invoice.payment_succeeded"
      ) {
        if (event.type !== "invoice.payment_failed") next.grace_until = null;
      }
      await c.query(
        `update creator_billing set stripe_customer_id = coalesce(stripe_customer_id, $2),
           stripe_subscription_id = $3, plan = $4, status = $5, current_period_end = $6,
           cancel_at_period_end = $7, grace_until = $8, state_at = $9, updated_at = now()
         where creator_id = $1`,
        [
          found.creator_id,
          customerId ?? null,
          next.stripe_subscription_id,
          next.plan,
          next.status,
          next.current_period_end,
          next.cancel_at_period_end,
          next.grace_until,
          now,
        ],
      );
      const after = effectivePlan(stateOf(next), now);
      await c.query("update creators set subscription_tier = $2 where id = $1", [
        found.creator_id,
        after,
      ]);
      const changed = before !== after || found.status !== next.status ||
        found.cancel_at_period_end !== next.cancel_at_period_end;
      const changeEvent = changed
        ? {
          creatorId: found.creator_id,
          plan: after,
          status: next.status,
          previousPlan: before,
          at: now.getTime(),
        }
        : undefined;
      if (changeEvent) {
        await c.query(
          `insert into audit_log (creator_id, actor_kind, actor_subject, action, resource_type,
             resource_id, details) values ($1, 'system', 'stripe', 'billing.subscription_changed',
             'subscription', $2, $3)`,
          [found.creator_id, next.stripe_subscription_id, {
            plan: after,
            previous_plan: before,
            status: next.status,
            stripe_event: event.id,
          }],
        );
        await enqueueWebhookEvent(c, {
          id: `stripe:${event.id}`,
          type: "subscription.changed",
          creatorId: found.creator_id,
          at: now.getTime(),
          data: { plan: after, status: next.status, previous_plan: before },
        });
      }
      return {
        outcome: "applied" as const,
        creatorId: found.creator_id,
        changeEvent,
        paymentFailed,
        plan: next.plan,
        graceUntil: next.grace_until,
      };
    });
    if (result.outcome !== "applied") return result.outcome;
    if (result.changeEvent && this.#o.nc && this.#o.prefix) {
      await jetstream(this.#o.nc).publish(
        `${this.#o.prefix}.evt.subscription.changed`,
        JSON.stringify(result.changeEvent),
        { msgID: `stripe:${event.id}` },
      ).catch((err) =>
        this.#o.log.warn("subscription.changed not published", { error: String(err) })
      );
    }
    if (result.paymentFailed) {
      await this.#o.mailer?.toCreator(result.creatorId, "payment_failed", {
        plan: PLANS[result.plan as PlanId]?.name ?? result.plan,
        grace_until: result.graceUntil?.toISOString().slice(0, 10) ?? "",
        link: this.#o.mailer.link("/v1/billing"),
      });
    }
    return "applied";
  }
}

const isUuid = (v: unknown): v is string =>
  typeof v === "string" &&
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v);
