/**
 * Wires the business features into a node: billing and plan limits, transactional e-mail (the
 * account notices of the admin API too, once a provider is configured), `POST /hooks/stripe`,
 * and the webhook workers (events → deliveries, the dispatcher).
 */
import type { NodeExtensionFactory } from "./node.ts";
import type { Config } from "./config.ts";
import type pg from "pg";
import type { Clock } from "../runtime/mod.ts";
import { loadOrCreateSecret } from "../db/secrets.ts";
import {
  type Business,
  type BusinessSettings,
  createBusiness,
  type EmailProvider,
  type Mailer,
  sendGridProvider,
  smtpProvider,
  startDigestWorker,
  startGa4Worker,
  startWebhookEventWorkers,
  WebhookDispatcher,
} from "../business/mod.ts";
import type { IntakeGate } from "../channels/core/intake.ts";
import type { AccountMailer } from "../api/auth/notices.ts";
import { stripeHook } from "../api/hooks/stripe.ts";
import { oauthServer } from "../api/routes/oauth.ts";

/** What tests and other extensions reach once the node runs. */
export interface BusinessHandle {
  business?: Business;
  dispatcher?: WebhookDispatcher;
}

/** The e-mail provider the configuration names, if any. */
export function emailProviderOf(config: Config): EmailProvider | undefined {
  if (config.EMAIL_PROVIDER === "smtp" && config.SMTP_URL) return smtpProvider(config.SMTP_URL);
  if (config.EMAIL_PROVIDER === "sendgrid" && config.SENDGRID_API_KEY) {
    return sendGridProvider({ apiKey: config.SENDGRID_API_KEY, baseUrl: config.SENDGRID_API_URL });
  }
  return undefined;
}

/** The admin API's account notices as e-mails (verification, reset, invitation). */
export function emailAccountMailer(mailer: Mailer): AccountMailer {
  return {
    async send(n) {
      const link = mailer.link("/");
      switch (n.kind) {
        case "signup_confirmation":
          await mailer.send("email_verification", {
            to: n.email,
            vars: { token: n.token, expires_at: n.expiresAt, link },
          });
          return;
        case "signup_existing_account":
          await mailer.send("signup_existing_account", { to: n.email, vars: {} });
          return;
        case "password_reset":
          await mailer.send("password_reset", {
            to: n.email,
            vars: { token: n.token, expires_at: n.expiresAt, name: n.name, team: n.team, link },
          });
          return;
        case "member_invitation":
          await mailer.send("member_invitation", {
            to: n.email,
            vars: { name: n.name, team: n.team, role: n.role, link },
          });
          return;
      }
    },
  };
}

export function settingsOf(config: Config, email?: EmailProvider): BusinessSettings {
  return {
    stripe: config.STRIPE_SECRET_KEY
      ? {
        secretKey: config.STRIPE_SECRET_KEY,
        apiUrl: config.STRIPE_API_URL,
        webhookSecret: config.STRIPE_WEBHOOK_SECRET,
      }
      : undefined,
    prices: { pro: config.STRIPE_PRICE_PRO, business: config.STRIPE_PRICE_BUSINESS },
    graceDays: config.BILLING_GRACE_DAYS,
    email: { provider: email, from: config.EMAIL_FROM },
    appUrl: config.PUBLIC_URL ?? `http://localhost:${config.PORT}`,
    webhooks: { allowPrivate: config.WEBHOOKS_ALLOW_PRIVATE },
  };
}

/**
 * The business extension, and the intake gate the channels extension takes (plan limits on
 * inbound messages and new end users; it admits everything until the node has started).
 */
export function businessExtension(
  { handle = {}, clock, provider, startDispatcher = true }: {
    handle?: BusinessHandle;
    clock?: Clock;
    /** Off: the node queues webhook deliveries but sends none (a test drives its own). */
    startDispatcher?: boolean;
    /** Overrides the configured e-mail provider (tests). */
    provider?: EmailProvider;
  } = {},
): { factory: NodeExtensionFactory; gate: IntakeGate } {
  const gate: IntakeGate = {
    admitMessage: (creatorId) =>
      handle.business?.limits.admitMessage(creatorId) ?? Promise.resolve(true),
    admitNewPerson: (tx: pg.PoolClient, creatorId) =>
      handle.business?.limits.admitNewPerson(tx, creatorId) ?? Promise.resolve(true),
  };
  const factory: NodeExtensionFactory = async ({ pool, nc, config, log }) => {
    const email = provider ?? emailProviderOf(config);
    const business = createBusiness({
      pool,
      log,
      nc,
      prefix: config.NATS_PREFIX,
      secretsKey: await loadOrCreateSecret({
        configured: config.SECRETS_KEY,
        dataDir: config.DATA_DIR,
        name: "secrets_key",
      }),
      settings: settingsOf(config, email),
      clock,
    });
    handle.business = business;
    const businessLog = log.child({ component: "business" });
    return {
      api: { business, ...(email ? { mailer: emailAccountMailer(business.mailer) } : {}) },
      routes: (app) => {
        app.route("/hooks/stripe", stripeHook({ billing: business.billing, log: businessLog }));
        // The OAuth authorization server: /oauth/* and its metadata under /.well-known/.
        app.route("/", oauthServer({ pool, log: businessLog, trustProxy: config.TRUST_PROXY }));
      },
      start: async (system) => {
        const stack = new AsyncDisposableStack();
        try {
          stack.use(
            await startWebhookEventWorkers({
              nc,
              pool,
              prefix: config.NATS_PREFIX,
              deadLetters: system.deadLetters,
              log: businessLog,
              mailer: business.mailer,
            }),
          );
          stack.use(
            startDigestWorker({ pool, mailer: business.mailer, log: businessLog, clock }),
          );
          if (config.GA4_ENABLED) {
            stack.use(
              await startGa4Worker({
                nc,
                pool,
                prefix: config.NATS_PREFIX,
                box: business.box,
                deadLetters: system.deadLetters,
                log: businessLog,
                apiUrl: config.GA4_API_URL,
              }),
            );
          }
          if (!startDispatcher) return stack.move();
          const dispatcher = new WebhookDispatcher({
            pool,
            box: business.box,
            log: businessLog,
            mailer: business.mailer,
            clock,
            allowPrivate: config.WEBHOOKS_ALLOW_PRIVATE,
          }).start();
          handle.dispatcher = dispatcher;
          stack.use(dispatcher);
          return stack.move();
        } catch (err) {
          await stack.disposeAsync();
          throw err;
        }
      },
    };
  };
  return { factory, gate };
}
