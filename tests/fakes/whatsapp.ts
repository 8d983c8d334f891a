/**
 * A loopback WhatsApp Cloud API for tests: Graph API `POST /{version}/{phone-number-id}/messages`
 * with bearer-token auth, payload validation, the Graph error envelope, per-number throughput
 * and per-recipient pair rate limits, the 24-hour customer-service window, and WhatsApp's side
 * of webhooks: signed inbound messages, status callbacks with pricing, and the GET verify
 * handshake. The product sends with plain `fetch` to `${fake.url}/v23.0/${phoneNumberId}/messages`.
 */
import { createHmac, randomBytes } from "node:crypto";
import {
  BackgroundTasks,
  postRaw,
  readParams,
  serveLoopback,
  sleep,
  type WebhookAnswer,
} from "./_http.ts";
import { type BucketRule, type Clock, FailureScript, TokenBuckets } from "./_limits.ts";
import { PayloadError, validateMessage, type ValidMessage } from "./_whatsapp_validate.ts";
import {
  graphError,
  inboundEntry,
  metaJson,
  signWebhookBody,
  statusEntry,
  wamid,
  webhookEnvelope,
} from "./_whatsapp_wire.ts";

export { signWebhookBody };

export const DEFAULT_WHATSAPP_TOKEN = "EAAFakeWhatsAppAccessTokenForCoachdTests";
export const DEFAULT_APP_SECRET = "fake-app-secret-for-coachd-tests";
export const DEFAULT_PHONE_NUMBER = { id: "106540352242922", displayPhoneNumber: "15550783881" };
const DAY_MS = 24 * 60 * 60 * 1000;

export type PricingCategory = "service" | "utility" | "marketing" | "authentication";
export type OutboundStatus = "sent" | "delivered" | "read";

/** An approved message template. */
export interface FakeTemplate {
  name: string;
  /** Language code, e.g. `en_US`. */
  language: string;
  category: Exclude<PricingCategory, "service">;
  /** How many `{{n}}` parameters its body has. */
  bodyParams?: number;
}

export interface StatusCallbackOptions {
  /** Statuses posted after each accepted message. Default sent, delivered, read. */
  sequence?: OutboundStatus[];
  /** `reverse` and `shuffle` post them out of order, as WhatsApp sometimes does. */
  order?: "in-order" | "reverse" | "shuffle";
  /** Wait between two callbacks of one message. Default 0. */
  delayMs?: number;
}

export interface FakeWhatsAppOptions {
  accessToken?: string;
  /** Signs webhook bodies (X-Hub-Signature-256). */
  appSecret?: string;
  phoneNumbers?: { id: string; displayPhoneNumber: string }[];
  wabaId?: string;
  /** Where inbound messages and status callbacks are POSTed; settable later on the fake. */
  webhookUrl?: string;
  /** Messages per second per business number; `false` for none. Default 80. */
  throughputPerSecond?: number | false;
  /** Messages to one recipient: a burst refilled at one per 6 s by default; `false` for none. */
  pairRate?: BucketRule | false;
  /** `false`: no status callbacks. */
  statuses?: StatusCallbackOptions | false;
  /**
   * How a free-form message outside the 24-hour window fails. `async` (what the Cloud API does):
   * accepted with a wamid, then a `failed` status with error 131047. `sync`: answered 400 131047.
   */
  windowRule?: "async" | "sync";
  /** Approved templates; when empty, any template is accepted as `defaultTemplateCategory`. */
  templates?: FakeTemplate[];
  defaultTemplateCategory?: FakeTemplate["category"];
  now?: Clock;
  /** Meta escapes non-ASCII as \uXXXX in webhook bodies and signs those bytes. Default true. */
  escapeNonAscii?: boolean;
}

/** An end user on WhatsApp. */
export interface WaUser {
  waId: string;
  name: string;
  /** When they last wrote to the business: opens the 24-hour customer-service window. */
  lastInboundAt?: number;
  /** Messages to them fail with 131026 (not on WhatsApp, old client, terms not accepted). */
  undeliverable: boolean;
}

/** One call the fake received. */
export interface WhatsAppRequest {
  method: string;
  path: string;
  phoneNumberId?: string;
  version?: string;
  body: Record<string, unknown>;
  at: number;
  status: number;
  /** The Graph error code when the call failed. */
  errorCode?: number;
}

/** A status callback, as posted (or as it would be, without a webhook URL). */
export interface StatusEvent {
  status: OutboundStatus | "failed";
  at: number;
  errorCode?: number;
}

/** A message the fake accepted. */
export interface SentMessage {
  id: string;
  phoneNumberId: string;
  to: string;
  type: string;
  body: Record<string, unknown>;
  at: number;
  category: PricingCategory;
  billable: boolean;
  pricingType: "regular" | "free_customer_service";
  /** Set when the message will fail asynchronously. */
  failure?: 131026 | 131047;
  statuses: StatusEvent[];
}

/** A webhook POST the fake made. */
export interface WebhookDelivery {
  kind: "message" | "status" | "raw";
  body: string;
  signature: string;
  answer: WebhookAnswer;
}

/** An inbound message a user sends to the business. */
export type InboundMessage =
  | { type: "text"; body: string }
  /** A template's quick-reply button. */
  | { type: "button"; payload: string; text: string }
  /** A reply button of an interactive message. */
  | { type: "button_reply"; id: string; title: string }
  /** A row of an interactive list. */
  | { type: "list_reply"; id: string; title: string; description?: string }
  | {
    type: "image" | "audio" | "video" | "document" | "sticker";
    mimeType?: string;
    caption?: string;
    filename?: string;
    /** audio: a voice note. */
    voice?: boolean;
  }
  | { type: "location"; latitude: number; longitude: number; name?: string; address?: string };

/** A failure a test scripts for the next send calls. */
export type WhatsAppFailure =
  /** A Graph error with a known code (130429, 131056, 131000, 131026, 100, 190, ...). */
  | { code: number; status?: number; details?: string }
  /** A bare HTTP failure of the edge (500, 502, 503) with a short text body. */
  | { httpStatus: number };

/** The running fake. */
export interface FakeWhatsApp extends AsyncDisposable {
  /** Graph API root: `http://127.0.0.1:<port>`; versions go in the path. */
  url: string;
  /** The first business phone number id. */
  phoneNumberId: string;
  accessToken: string;
  appSecret: string;
  webhookUrl?: string;
  requests: WhatsAppRequest[];
  sent: SentMessage[];
  users: Map<string, WaUser>;
  webhookDeliveries: WebhookDelivery[];
  /** Inbound message ids marked read, and typing indicators shown, in order. */
  reads: { messageId: string; typing: boolean; at: number }[];
  now: Clock;
  addUser(waId: string, init?: { name?: string; undeliverable?: boolean }): WaUser;
  /** True when `waId` wrote to the business in the last 24 hours. */
  windowOpen(waId: string): boolean;
  /** The user `from` sends `message`: POSTs a signed webhook and opens their window. */
  sendInbound(
    from: string,
    message: InboundMessage,
    opts?: { context?: string; phoneNumberId?: string; name?: string },
  ): Promise<{ id: string; answer: WebhookAnswer }>;
  /** POSTs any JSON value as a signed webhook (for errors or account updates). */
  postWebhook(payload: unknown): Promise<WebhookAnswer>;
  /** Meta's GET verification handshake against `url`. */
  verify(
    url: string,
    verifyToken: string,
    challenge?: string,
  ): Promise<{ ok: boolean; status: number; body: string }>;
  /** The next `count` send calls answer with `failure`. */
  failNext(failure: WhatsAppFailure, count?: number): void;
  /** Resolves when every status callback scheduled so far has been posted. */
  idle(): Promise<void>;
}

/** Starts the fake on 127.0.0.1 at a random port. */
export function startFakeWhatsApp(opts: FakeWhatsAppOptions = {}): FakeWhatsApp {
  const now = opts.now ?? Date.now;
  const numbers = opts.phoneNumbers ?? [DEFAULT_PHONE_NUMBER];
  const wabaId = opts.wabaId ?? "102290129340398";
  const escape = opts.escapeNonAscii ?? true;
  const statusOpts = opts.statuses === false ? undefined : opts.statuses ?? {};
  const windowRule = opts.windowRule ?? "async";
  const templates = opts.templates ?? [];
  const throughput = opts.throughputPerSecond === false ? undefined : new TokenBuckets({
    burst: opts.throughputPerSecond ?? 80,
    perSecond: opts.throughputPerSecond ?? 80,
  }, now);
  const pair = opts.pairRate === false
    ? undefined
    : new TokenBuckets(opts.pairRate ?? { burst: 45, perSecond: 1 / 6 }, now);
  const failures = new FailureScript<WhatsAppFailure>();
  const background = new BackgroundTasks();
  const inbound = new Map<string, { from: string; phoneNumberId: string; at: number }>();
  // Conversation ids of the older (v23 and below) status payloads, per user and category.
  const conversations = new Map<string, { id: string; expires: number }>();

  const numberById = (id: string) => numbers.find((n) => n.id === id);

  const post = async (kind: WebhookDelivery["kind"], payload: unknown): Promise<WebhookAnswer> => {
    const body = metaJson(payload, escape);
    const signature = signWebhookBody(body, fake.appSecret);
    if (!fake.webhookUrl) {
      const answer = { status: 0, body: "fake whatsapp: no webhookUrl set" };
      fake.webhookDeliveries.push({ kind, body, signature, answer });
      return answer;
    }
    const sha1 = `sha1=${createHmac("sha1", fake.appSecret).update(body).digest("hex")}`;
    const answer = await postRaw(fake.webhookUrl, body, {
      "content-type": "application/json",
      "user-agent": "facebookexternalua",
      "x-hub-signature": sha1,
      "x-hub-signature-256": signature,
    });
    fake.webhookDeliveries.push({ kind, body, signature, answer });
    return answer;
  };

  const envelope = (phoneNumberId: string, value: Record<string, unknown>) =>
    webhookEnvelope(wabaId, numberById(phoneNumberId)!, value);

  const statusPayload = (m: SentMessage, status: StatusEvent, version: number) => {
    let conversation: { id: string; expires: number } | undefined;
    // v24.0 dropped the conversation object from status webhooks.
    if (version < 24 && (status.status === "sent" || status.status === "delivered")) {
      const key = `${m.phoneNumberId}/${m.to}/${m.category}`;
      conversation = conversations.get(key);
      if (!conversation || conversation.expires <= m.at) {
        conversation = { id: randomBytes(16).toString("hex"), expires: m.at + DAY_MS };
        conversations.set(key, conversation);
      }
    }
    return envelope(m.phoneNumberId, { statuses: [statusEntry(m, status, conversation)] });
  };

  const scheduleStatuses = (m: SentMessage, version: number) => {
    if (!statusOpts) return;
    let sequence: StatusEvent["status"][] = m.failure
      ? ["failed"]
      : [...(statusOpts.sequence ?? ["sent", "delivered", "read"])];
    if (statusOpts.order === "reverse") sequence = sequence.reverse();
    if (statusOpts.order === "shuffle") sequence.sort(() => Math.random() - 0.5);
    background.run(async () => {
      for (const [i, status] of sequence.entries()) {
        if (i > 0 && statusOpts.delayMs) await sleep(statusOpts.delayMs);
        const event: StatusEvent = {
          status,
          at: now(),
          ...(status === "failed" ? { errorCode: m.failure } : {}),
        };
        m.statuses.push(event);
        await post("status", statusPayload(m, event, version));
      }
    });
  };

  const templateCategory = (t: ValidMessage["template"]): FakeTemplate["category"] | Response => {
    if (templates.length === 0) return opts.defaultTemplateCategory ?? "utility";
    const found = templates.find((x) => x.name === t!.name && x.language === t!.language);
    if (!found) {
      return graphError(132001, {
        details: `template name (${t!.name}) does not exist in ${t!.language}`,
      });
    }
    if ((found.bodyParams ?? 0) !== t!.bodyParams) {
      return graphError(132000, {
        details: `body: number of localizable_params (${
          t!.bodyParams
        }) does not match the expected number of params (${found.bodyParams ?? 0})`,
      });
    }
    return found.category;
  };

  const sendMessage = (
    phoneNumberId: string,
    version: number,
    body: Record<string, unknown>,
  ): Response => {
    let msg: ValidMessage;
    try {
      msg = validateMessage(body);
    } catch (err) {
      if (err instanceof PayloadError) {
        return graphError(err.code, { message: err.graphMessage, details: err.details });
      }
      throw err;
    }
    const waId = msg.to.replace(/[^\d]/g, "");
    if (waId.length < 7 || waId.length > 15) {
      return graphError(100, { details: `Invalid recipient phone number: ${msg.to}` });
    }
    const user = fake.users.get(waId) ?? fake.addUser(waId);
    const isTemplate = msg.type === "template";
    let category: PricingCategory = "service";
    if (isTemplate) {
      const c = templateCategory(msg.template);
      if (c instanceof Response) return c;
      category = c;
    }
    const open = fake.windowOpen(waId);
    if (!isTemplate && !open && windowRule === "sync") return graphError(131047);
    if (throughput) {
      const wait = throughput.take(phoneNumberId);
      if (wait > 0) return graphError(130429);
    }
    if (pair) {
      const wait = pair.take(`${phoneNumberId}/${waId}`);
      if (wait > 0) {
        throughput?.refund(phoneNumberId);
        return graphError(131056);
      }
    }
    const free = category === "service" || (category === "utility" && open);
    const sent: SentMessage = {
      id: wamid(),
      phoneNumberId,
      to: waId,
      type: msg.type,
      body,
      at: now(),
      category,
      billable: !free,
      pricingType: free ? "free_customer_service" : "regular",
      statuses: [],
    };
    if (user.undeliverable) sent.failure = 131026;
    else if (!isTemplate && !open) sent.failure = 131047;
    fake.sent.push(sent);
    scheduleStatuses(sent, version);
    return Response.json({
      messaging_product: "whatsapp",
      contacts: [{ input: msg.to, wa_id: waId }],
      messages: [isTemplate ? { id: sent.id, message_status: "accepted" } : { id: sent.id }],
    });
  };

  const markRead = (phoneNumberId: string, body: Record<string, unknown>): Response => {
    if (body.status !== "read") {
      return graphError(100, {
        details: `Param status must be one of {READ} - got "${String(body.status)}".`,
      });
    }
    const id = body.message_id;
    if (typeof id !== "string" || id === "") {
      return graphError(100, {
        message: "(#100) The parameter message_id is required.",
        details: "The parameter message_id is required.",
      });
    }
    const msg = inbound.get(id);
    if (!msg || msg.phoneNumberId !== phoneNumberId) {
      return graphError(100, { details: `Invalid message_id: ${id}` });
    }
    let typing = false;
    if (body.typing_indicator !== undefined) {
      const t = body.typing_indicator as { type?: unknown };
      if (typeof t !== "object" || t === null || t.type !== "text") {
        return graphError(100, {
          details: `Param typing_indicator['type'] must be one of {TEXT} - got "${
            String(t?.type)
          }".`,
        });
      }
      typing = true;
    }
    fake.reads.push({ messageId: id, typing, at: now() });
    return Response.json({ success: true });
  };

  const server = serveLoopback(async (req) => {
    const url = new URL(req.url);
    const params = await readParams(req);
    const r: WhatsAppRequest = {
      method: req.method,
      path: url.pathname,
      body: params ?? {},
      at: now(),
      status: 0,
    };
    fake.requests.push(r);
    const res = await route(req, url, params, r);
    r.status = res.status;
    if (res.status >= 400) {
      const copy = await res.clone().json().catch(() => undefined);
      if (copy?.error?.code !== undefined) r.errorCode = copy.error.code;
    }
    return res;
  });

  const route = (
    req: Request,
    url: URL,
    params: Record<string, unknown> | undefined,
    r: WhatsAppRequest,
  ): Response => {
    const m = /^\/(v(\d+)\.\d+)\/([^/]+)\/messages\/?$/.exec(url.pathname);
    if (!m) {
      return graphError(2500, { message: `Unknown path components: ${url.pathname}`, details: "" });
    }
    const [, version, major, phoneNumberId] = m as unknown as [string, string, string, string];
    r.version = version;
    r.phoneNumberId = phoneNumberId;
    const auth = req.headers.get("authorization");
    const token = auth?.startsWith("Bearer ")
      ? auth.slice(7).trim()
      : url.searchParams.get("access_token");
    if (!token) {
      return graphError(104, {
        message: "An access token is required to request this resource.",
        details: "",
      });
    }
    if (token !== fake.accessToken) {
      return graphError(190, {
        status: 401,
        message: "Invalid OAuth access token - Cannot parse access token",
        details: "",
      });
    }
    if (!numberById(phoneNumberId)) {
      return graphError(100, {
        message:
          `Unsupported ${req.method.toLowerCase()} request. Object with ID '${phoneNumberId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api`,
        subcode: 33,
        details: "",
        type: "GraphMethodException",
      });
    }
    if (req.method !== "POST") {
      return graphError(100, {
        message: `Unsupported ${req.method.toLowerCase()} request.`,
        details: "",
      });
    }
    if (params === undefined) {
      return graphError(100, { details: "Could not parse the request body as JSON." });
    }
    if (params.messaging_product !== "whatsapp") {
      return params.messaging_product === undefined
        ? graphError(100, {
          message: "(#100) The parameter messaging_product is required.",
          details: "The parameter messaging_product is required.",
        })
        : graphError(100, {
          details: `Param messaging_product must be one of {WHATSAPP} - got "${
            String(params.messaging_product)
          }".`,
        });
    }
    const scripted = failures.take("messages");
    if (scripted) {
      if ("httpStatus" in scripted) {
        return new Response(
          scripted.httpStatus >= 500 ? "Service temporarily unavailable" : "Error",
          {
            status: scripted.httpStatus,
            headers: { "content-type": "text/plain" },
          },
        );
      }
      return graphError(scripted.code, { status: scripted.status, details: scripted.details });
    }
    if (params.status !== undefined) return markRead(phoneNumberId, params);
    return sendMessage(phoneNumberId, Number(major), params);
  };

  const fake: FakeWhatsApp = {
    url: server.url,
    phoneNumberId: numbers[0]!.id,
    accessToken: opts.accessToken ?? DEFAULT_WHATSAPP_TOKEN,
    appSecret: opts.appSecret ?? DEFAULT_APP_SECRET,
    webhookUrl: opts.webhookUrl,
    requests: [],
    sent: [],
    users: new Map(),
    webhookDeliveries: [],
    reads: [],
    now,
    addUser(waId, init = {}) {
      const user: WaUser = {
        waId,
        name: init.name ?? `User ${waId.slice(-4)}`,
        undeliverable: init.undeliverable ?? false,
      };
      fake.users.set(waId, user);
      return user;
    },
    windowOpen(waId) {
      const at = fake.users.get(waId)?.lastInboundAt;
      return at !== undefined && now() - at < DAY_MS;
    },
    async sendInbound(from, message, o = {}) {
      const phoneNumberId = o.phoneNumberId ?? fake.phoneNumberId;
      if (!numberById(phoneNumberId)) {
        throw new Error(`fake whatsapp: no phone number ${phoneNumberId}`);
      }
      const user = fake.users.get(from) ?? fake.addUser(from, { name: o.name });
      if (o.name) user.name = o.name;
      const id = wamid();
      user.lastInboundAt = now();
      inbound.set(id, { from, phoneNumberId, at: now() });
      const entry = inboundEntry(from, id, message, {
        at: now(),
        context: o.context,
        businessNumber: numberById(phoneNumberId)!.displayPhoneNumber,
        mediaId: String(1_000_000_000_000_000n + BigInt(inbound.size)),
      });
      const answer = await post(
        "message",
        envelope(phoneNumberId, {
          contacts: [{ profile: { name: user.name }, wa_id: user.waId }],
          messages: [entry],
        }),
      );
      return { id, answer };
    },
    postWebhook: (payload) => post("raw", payload),
    async verify(url, verifyToken, challenge = String(Math.floor(Math.random() * 1e9))) {
      const u = new URL(url);
      u.searchParams.set("hub.mode", "subscribe");
      u.searchParams.set("hub.challenge", challenge);
      u.searchParams.set("hub.verify_token", verifyToken);
      const res = await fetch(u, { signal: AbortSignal.timeout(10_000) });
      const body = await res.text();
      return { ok: res.status === 200 && body === challenge, status: res.status, body };
    },
    failNext(failure, count = 1) {
      failures.add("messages", count, failure);
    },
    idle: () => background.idle(),
    async [Symbol.asyncDispose]() {
      await background.idle();
      await server.close();
    },
  };
  return fake;
}
