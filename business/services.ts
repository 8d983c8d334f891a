/**
 * The business services of one node, built once from settings: the mailer, billing with its
 * plan limits, and what the webhook routes and workers need.
 */
import type pg from "pg";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Clock, Logger } from "../runtime/mod.ts";
import { SecretBox } from "../db/secrets.ts";
import { Billing } from "./billing/billing.ts";
import { PlanLimits } from "./billing/limits.ts";
import type { PaidPlanId } from "./billing/plans.ts";
import { stripeClient } from "./billing/stripe_client.ts";
import { Mailer } from "./email/mailer.ts";
import type { EmailProvider } from "./email/provider.ts";
import type { Resolve } from "./webhooks/ssrf.ts";

export interface BusinessSettings {
  stripe?: { secretKey: string; apiUrl?: string; webhookSecret?: string };
  prices?: Partial<Record<PaidPlanId, string>>;
  graceDays?: number;
  email?: { provider?: EmailProvider; from?: string };
  /** The node's public URL, for links in e-mails and Checkout's return URLs. */
  appUrl: string;
  webhooks?: { allowPrivate?: boolean; resolve?: Resolve };
}

export interface Business {
  billing: Billing;
  limits: PlanLimits;
  mailer: Mailer;
  box: SecretBox;
  appUrl: string;
  webhooks: { allowPrivate: boolean; resolve?: Resolve };
}

export function createBusiness(
  { pool, log, nc, prefix, secretsKey, settings, clock }: {
    pool: pg.Pool;
    log: Logger;
    nc?: NatsConnection;
    prefix?: string;
    secretsKey: Uint8Array;
    settings: BusinessSettings;
    clock?: Clock;
  },
): Business {
  const mailer = new Mailer({
    pool,
    provider: settings.email?.provider,
    from: settings.email?.from ?? "Coachd <no-reply@coachd.invalid>",
    appUrl: settings.appUrl,
    log: log.child({ component: "email" }),
  });
  const billing = new Billing({
    pool,
    log: log.child({ component: "billing" }),
    stripe: settings.stripe
      ? stripeClient({ secretKey: settings.stripe.secretKey, apiUrl: settings.stripe.apiUrl })
      : undefined,
    webhookSecret: settings.stripe?.webhookSecret,
    prices: settings.prices ?? {},
    graceDays: settings.graceDays,
    mailer,
    nc,
    prefix,
    clock,
  });
  const limits = new PlanLimits({ pool, billing, log, mailer, nc, prefix });
  return {
    billing,
    limits,
    mailer,
    box: new SecretBox(secretsKey),
    appUrl: settings.appUrl,
    webhooks: {
      allowPrivate: settings.webhooks?.allowPrivate ?? false,
      resolve: settings.webhooks?.resolve,
    },
  };
}
