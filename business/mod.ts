/**
 * Creators as customers: Stripe billing and plan limits, transactional e-mail, and signed
 * outbound webhooks.
 * @module
 */
export { type Business, type BusinessSettings, createBusiness } from "./services.ts";
export {
  type ApplyOutcome,
  Billing,
  BillingNotConfiguredError,
  type BillingOverview,
} from "./billing/billing.ts";
export { PlanLimits, type Verdict } from "./billing/limits.ts";
export {
  effectivePlan,
  LIMIT_LABELS,
  LIMIT_NAMES,
  type LimitName,
  type PaidPlanId,
  PLAN_IDS,
  type PlanId,
  PLANS,
} from "./billing/plans.ts";
export { Mailer, type SendResult } from "./email/mailer.ts";
export { digestFigures, sendDueDigests, startDigestWorker } from "./email/digest.ts";
export { type EmailProvider, EmailSendError, type OutgoingEmail } from "./email/provider.ts";
export { smtpProvider } from "./email/smtp.ts";
export { sendGridProvider } from "./email/sendgrid.ts";
export { LOCALES, render, TEMPLATE_NAMES, type TemplateName } from "./email/templates.ts";
export {
  WEBHOOK_EVENT_DESCRIPTIONS,
  WEBHOOK_EVENT_TYPES,
  type WebhookEvent,
  webhookEventOf,
  type WebhookEventType,
} from "./webhooks/catalog.ts";
export { enqueueWebhookEvent } from "./webhooks/enqueue.ts";
export { newWebhookSecret, openSecret, sealSecret } from "./webhooks/endpoints.ts";
export { RETRY_DELAYS_MS, WebhookDispatcher } from "./webhooks/dispatcher.ts";
export { startWebhookEventWorkers } from "./webhooks/event_worker.ts";
export { checkTarget, isPrivateAddress, TargetRefusedError } from "./webhooks/ssrf.ts";
export { ga4Context, ga4EventOf, sendGa4, startGa4Worker } from "./ga4/measurement.ts";
