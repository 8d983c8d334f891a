/**
 * Billing: the creator's plan, usage and limits; a Stripe Checkout session to upgrade and a
 * customer portal session to manage payment. Plans change only from Stripe's events
 * (`POST /hooks/stripe`).
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import {
  Billing,
  BillingNotConfiguredError,
  type Business,
  LIMIT_NAMES,
  PLAN_IDS,
  PLANS,
} from "../../business/mod.ts";
import type { ApiEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import {
  ADMINS,
  ALL_ROLES,
  jsonBody,
  jsonResponse,
  problemResponse,
  protectedRoute,
} from "../lib/route.ts";

const tags = ["billing"];
const LimitsSchema = z.object(
  Object.fromEntries(LIMIT_NAMES.map((n) => [n, z.number()])) as Record<
    typeof LIMIT_NAMES[number],
    z.ZodNumber
  >,
);
const Overview = z.object({
  plan: z.enum(PLAN_IDS),
  plan_name: z.string(),
  subscribed_plan: z.string(),
  status: z.string(),
  limits: LimitsSchema,
  usage: LimitsSchema,
  usage_month: z.string(),
  current_period_end: z.string().nullable(),
  cancel_at_period_end: z.boolean(),
  grace_until: z.string().nullable(),
}).openapi("BillingOverview");
const Plan = z.object({ id: z.enum(PLAN_IDS), name: z.string(), limits: LimitsSchema })
  .openapi("Plan");
const RedirectUrl = z.url().max(2000).refine((u) => /^https?:/.test(u), "must be http(s)");
// A node without Stripe is a state of the deployment the caller can learn, not a server fault.
const unavailable = { 409: problemResponse("Billing is not configured on this node") };

export class BillingUnavailableError extends ApiError {
  constructor(detail: string) {
    super(409, "Billing not configured", detail);
    this.name = "BillingUnavailableError";
  }
}

export function businessOf(c: Context<ApiEnv>): Business {
  const b = c.get("services").business;
  if (!b) throw new BillingUnavailableError("Billing and e-mail are not set up on this node");
  return b;
}

async function stripeCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof BillingNotConfiguredError) throw new BillingUnavailableError(err.message);
    const type = (err as { type?: string }).type;
    if (typeof type === "string" && type.startsWith("Stripe")) {
      throw new ApiError(
        502,
        "Payment provider error",
        "Stripe refused or failed the request",
        [],
        {
          cause: err,
        },
      );
    }
    throw err;
  }
}

export function registerBilling(app: OpenAPIHono<ApiEnv>) {
  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/billing",
      tags,
      summary: "The creator's plan, subscription, limits and usage",
      responses: { 200: jsonResponse(Overview, "Plan and usage"), ...unavailable },
    }),
    async (c) => {
      const s = c.get("services");
      // Without Stripe a node still knows every creator's plan (free) and usage.
      const billing = s.business?.billing ?? new Billing({ pool: s.pool, log: s.log, prices: {} });
      return c.json(await billing.overview(c.get("auth").creatorId), 200);
    },
  );

  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/billing/plans",
      tags,
      summary: "The plans and their limits",
      responses: { 200: jsonResponse(z.object({ data: z.array(Plan) }), "Plans") },
    }),
    (c) =>
      c.json({
        data: PLAN_IDS.map((id) => ({ id, name: PLANS[id].name, limits: PLANS[id].limits })),
      }, 200),
  );

  app.openapi(
    protectedRoute(ADMINS, {
      method: "post",
      path: "/billing/checkout",
      tags,
      summary: "A Stripe Checkout session to subscribe to a paid plan",
      description: "Send the creator to `url`; the plan changes once Stripe reports the payment.",
      request: {
        body: jsonBody(z.strictObject({
          plan: z.enum(["pro", "business"]),
          success_url: RedirectUrl.optional(),
          cancel_url: RedirectUrl.optional(),
        })),
      },
      responses: {
        201: jsonResponse(z.object({ id: z.string(), url: z.string() }), "The session"),
        502: problemResponse("Stripe failed"),
        ...unavailable,
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const b = businessOf(c);
      const session = await stripeCall(() =>
        b.billing.checkout(c.get("auth").creatorId, body.plan, {
          successUrl: body.success_url ?? new URL("/?billing=success", b.appUrl).toString(),
          cancelUrl: body.cancel_url ?? new URL("/?billing=cancelled", b.appUrl).toString(),
        })
      );
      return c.json(session, 201);
    },
  );

  app.openapi(
    protectedRoute(ADMINS, {
      method: "post",
      path: "/billing/portal",
      tags,
      summary: "A Stripe customer portal session (payment method, invoices, cancellation)",
      request: { body: jsonBody(z.strictObject({ return_url: RedirectUrl.optional() })) },
      responses: {
        201: jsonResponse(z.object({ url: z.string() }), "The session"),
        502: problemResponse("Stripe failed"),
        ...unavailable,
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const b = businessOf(c);
      const session = await stripeCall(() =>
        b.billing.portal(c.get("auth").creatorId, body.return_url ?? b.appUrl)
      );
      return c.json(session, 201);
    },
  );
}
