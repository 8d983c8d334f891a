/**
 * A loopback fake of the parts of the Stripe API that billing uses: customers, Checkout sessions,
 * customer portal sessions and subscriptions (`/v1/...`, form-encoded bodies with bracketed keys,
 * `Authorization: Bearer sk_...`, errors as `{"error": {"type", "code", "message"}}`), plus what
 * Stripe itself would do: complete a Checkout, change a subscription, fail an invoice, and send
 * the resulting events signed with `Stripe-Signature` to a webhook URL.
 */
import Stripe from "stripe";
import { postRaw, serveLoopback, type WebhookAnswer } from "./_http.ts";

// deno-lint-ignore no-explicit-any -- Stripe objects are open JSON
type Obj = Record<string, any>;

export interface FakeStripe extends AsyncDisposable {
  url: string;
  secretKey: string;
  webhookSecret: string;
  requests: Array<{ method: string; path: string; params: Obj; status: number }>;
  customers: Map<string, Obj>;
  sessions: Map<string, Obj>;
  subscriptions: Map<string, Obj>;
  /** The next request whose path starts with `pathPrefix` gets this error. */
  failNext(pathPrefix: string, f: { status: number; retryAfter?: number; message?: string }): void;
  /** The customer pays: a subscription exists; returns checkout.session.completed and created. */
  completeCheckout(sessionId: string): Obj[];
  /** Changes a subscription (status, cancel_at_period_end, price); returns its event. */
  updateSubscription(
    id: string,
    change: { status?: string; cancel_at_period_end?: boolean; price?: string },
  ): Obj;
  /** A renewal payment fails: the subscription goes past_due; returns invoice.payment_failed. */
  failInvoice(subscriptionId: string): Obj;
  /** An event as Stripe sends it. */
  event(type: string, object: Obj, created?: number): Obj;
  /** The raw body and `Stripe-Signature` header for `event` (signed with `secret`). */
  sign(
    event: Obj,
    o?: { secret?: string; timestamp?: number },
  ): Promise<{ body: string; header: string }>;
  /** POSTs `event`, signed, to `url` as Stripe does. */
  deliver(url: string, event: Obj, o?: { secret?: string }): Promise<WebhookAnswer>;
}

let counter = 0;
const newId = (prefix: string) =>
  `${prefix}_${Date.now().toString(36)}${(++counter).toString(36)}${
    crypto.randomUUID().replace(/-/g, "").slice(0, 10)
  }`;

/** `a[b][0][c]=v` → `{ a: { b: [ { c: v } ] } }`, as Stripe reads form bodies. */
export function parseStripeForm(form: URLSearchParams): Obj {
  const out: Obj = {};
  for (const [key, value] of form) {
    const parts = key.replace(/\]/g, "").split("[");
    let at: Obj = out;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      const last = i === parts.length - 1;
      if (last) at[p] = value;
      else {
        const nextIsIndex = /^\d+$/.test(parts[i + 1]!);
        at[p] ??= nextIsIndex ? [] : {};
        at = at[p];
      }
    }
  }
  return out;
}

export function startFakeStripe(
  { secretKey = "sk_test_fake", webhookSecret = "whsec_test_fake", periodDays = 30 } = {},
): FakeStripe {
  const requests: FakeStripe["requests"] = [];
  const customers = new Map<string, Obj>();
  const sessions = new Map<string, Obj>();
  const subscriptions = new Map<string, Obj>();
  const failures: Array<
    { pathPrefix: string; status: number; retryAfter?: number; message?: string }
  > = [];
  const now = () => Math.floor(Date.now() / 1000);

  const error = (status: number, type: string, message: string, code?: string, param?: string) =>
    Response.json({
      error: { type, message, ...(code ? { code } : {}), ...(param ? { param } : {}) },
    }, {
      status,
    });
  const missing = (what: string, id: string) =>
    error(404, "invalid_request_error", `No such ${what}: '${id}'`, "resource_missing", "id");

  const handle = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const path = url.pathname;
    const params = req.method === "GET"
      ? parseStripeForm(url.searchParams)
      : parseStripeForm(new URLSearchParams(await req.text()));
    if (req.headers.get("authorization") !== `Bearer ${secretKey}`) {
      return error(401, "invalid_request_error", "Invalid API Key provided");
    }
    const f = failures.findIndex((x) => path.startsWith(x.pathPrefix));
    if (f >= 0) {
      const [x] = failures.splice(f, 1);
      const res = error(
        x!.status,
        x!.status === 429 ? "invalid_request_error" : "api_error",
        x!.message ?? (x!.status === 429 ? "Too many requests" : "Something went wrong"),
        x!.status === 429 ? "rate_limit" : undefined,
      );
      if (x!.retryAfter) res.headers.set("retry-after", String(x!.retryAfter));
      return res;
    }
    let m: RegExpMatchArray | null;
    if (req.method === "POST" && path === "/v1/customers") {
      const c = {
        id: newId("cus"),
        object: "customer",
        created: now(),
        email: params.email ?? null,
        name: params.name ?? null,
        metadata: params.metadata ?? {},
        livemode: false,
      };
      customers.set(c.id, c);
      return Response.json(c);
    }
    if (req.method === "POST" && path === "/v1/checkout/sessions") {
      if (params.mode !== "subscription" && params.mode !== "payment" && params.mode !== "setup") {
        return error(
          400,
          "invalid_request_error",
          "Missing required param: mode.",
          "parameter_missing",
          "mode",
        );
      }
      if (!params.success_url && params.ui_mode !== "embedded") {
        return error(
          400,
          "invalid_request_error",
          "Missing required param: success_url.",
          "parameter_missing",
          "success_url",
        );
      }
      const price = params.line_items?.[0]?.price;
      if (!price) {
        return error(
          400,
          "invalid_request_error",
          "Missing required param: line_items[0][price].",
          "parameter_missing",
          "line_items",
        );
      }
      if (params.customer && !customers.has(params.customer)) {
        return missing("customer", params.customer);
      }
      const s = {
        id: newId("cs_test"),
        object: "checkout.session",
        created: now(),
        mode: params.mode,
        status: "open",
        payment_status: "unpaid",
        customer: params.customer ?? null,
        client_reference_id: params.client_reference_id ?? null,
        metadata: params.metadata ?? {},
        success_url: params.success_url,
        cancel_url: params.cancel_url ?? null,
        subscription: null,
        url: "",
        livemode: false,
        _price: price,
        _subscriptionMetadata: params.subscription_data?.metadata ?? {},
      };
      s.url = `${server.url}/c/pay/${s.id}`;
      sessions.set(s.id, s);
      return Response.json(publicOf(s));
    }
    if (req.method === "GET" && (m = path.match(/^\/v1\/checkout\/sessions\/([^/]+)$/))) {
      const s = sessions.get(m[1]!);
      return s ? Response.json(publicOf(s)) : missing("checkout.session", m[1]!);
    }
    if (req.method === "POST" && path === "/v1/billing_portal/sessions") {
      if (!params.customer) {
        return error(
          400,
          "invalid_request_error",
          "Missing required param: customer.",
          "parameter_missing",
          "customer",
        );
      }
      if (!customers.has(params.customer)) return missing("customer", params.customer);
      const id = newId("bps");
      return Response.json({
        id,
        object: "billing_portal.session",
        created: now(),
        customer: params.customer,
        return_url: params.return_url ?? null,
        url: `${server.url}/p/session/${id}`,
        livemode: false,
      });
    }
    if (req.method === "GET" && (m = path.match(/^\/v1\/subscriptions\/([^/]+)$/))) {
      const s = subscriptions.get(m[1]!);
      return s ? Response.json(s) : missing("subscription", m[1]!);
    }
    return error(
      404,
      "invalid_request_error",
      `Unrecognized request URL (${req.method}: ${path}).`,
    );
  };

  const server = serveLoopback(async (req) => {
    const res = await handle(req);
    requests.push({
      method: req.method,
      path: new URL(req.url).pathname,
      params: {},
      status: res.status,
    });
    return res;
  });

  const event = (type: string, object: Obj, created = now()): Obj => ({
    id: newId("evt"),
    object: "event",
    api_version: "2026-10-28.endive",
    created,
    type,
    data: { object: structuredClone(object) },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
  });

  const sign = async (e: Obj, o: { secret?: string; timestamp?: number } = {}) => {
    const body = JSON.stringify(e, null, 2);
    const header = await Stripe.webhooks.generateTestHeaderStringAsync({
      payload: body,
      secret: o.secret ?? webhookSecret,
      timestamp: o.timestamp,
    });
    return { body, header };
  };

  const subscriptionEvent = (s: Obj) =>
    event(
      s.status === "canceled" ? "customer.subscription.deleted" : "customer.subscription.updated",
      s,
    );

  return {
    url: server.url,
    secretKey,
    webhookSecret,
    requests,
    customers,
    sessions,
    subscriptions,
    failNext: (pathPrefix, f) => void failures.push({ pathPrefix, ...f }),
    completeCheckout(sessionId) {
      const s = sessions.get(sessionId);
      if (!s) throw new Error(`no session ${sessionId}`);
      const start = now();
      const sub = {
        id: newId("sub"),
        object: "subscription",
        created: start,
        customer: s.customer,
        status: "active",
        cancel_at_period_end: false,
        canceled_at: null,
        metadata: s._subscriptionMetadata,
        items: {
          object: "list",
          data: [{
            id: newId("si"),
            object: "subscription_item",
            price: { id: s._price, object: "price" },
            quantity: 1,
            current_period_start: start,
            current_period_end: start + periodDays * 86400,
          }],
          has_more: false,
        },
        livemode: false,
      };
      subscriptions.set(sub.id, sub);
      Object.assign(s, { status: "complete", payment_status: "paid", subscription: sub.id });
      return [
        event("checkout.session.completed", publicOf(s)),
        event("customer.subscription.created", sub),
      ];
    },
    updateSubscription(id, change) {
      const s = subscriptions.get(id);
      if (!s) throw new Error(`no subscription ${id}`);
      if (change.status) s.status = change.status;
      if (change.cancel_at_period_end !== undefined) {
        s.cancel_at_period_end = change.cancel_at_period_end;
      }
      if (change.price) s.items.data[0].price = { id: change.price, object: "price" };
      if (s.status === "canceled") s.canceled_at = now();
      return subscriptionEvent(s);
    },
    failInvoice(subscriptionId) {
      const s = subscriptions.get(subscriptionId);
      if (!s) throw new Error(`no subscription ${subscriptionId}`);
      s.status = "past_due";
      return event("invoice.payment_failed", {
        id: newId("in"),
        object: "invoice",
        customer: s.customer,
        status: "open",
        attempt_count: 1,
        parent: { type: "subscription_details", subscription_details: { subscription: s.id } },
      });
    },
    event,
    sign,
    async deliver(url, e, o = {}) {
      const { body, header } = await sign(e, o);
      return await postRaw(url, body, {
        "content-type": "application/json",
        "stripe-signature": header,
      });
    },
    [Symbol.asyncDispose]: () => server.close(),
  };
}

/** A session without the fake's own bookkeeping. */
function publicOf(s: Obj): Obj {
  const { _price: _p, _subscriptionMetadata: _m, ...rest } = s;
  return rest;
}
