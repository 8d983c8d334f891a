/**
 * The Cloud API's wire formats the fake WhatsApp writes: Graph error bodies, message ids, webhook
 * bodies escaped and signed as Meta sends them, and the shapes of webhook entries.
 */
import { createHmac, randomBytes } from "node:crypto";
import type { InboundMessage, SentMessage, StatusEvent } from "./whatsapp.ts";

/** `sha256=<hex>` over the exact body bytes, as in X-Hub-Signature-256. */
export function signWebhookBody(body: string, appSecret: string): string {
  return `sha256=${createHmac("sha256", appSecret).update(body).digest("hex")}`;
}

interface KnownError {
  status: number;
  title: string;
  details: string;
  subcode?: number;
}

export const KNOWN_ERRORS: Record<number, KnownError> = {
  100: { status: 400, title: "Invalid parameter", details: "Invalid parameter" },
  131000: {
    status: 500,
    title: "Something went wrong",
    details: "Message failed to send due to an unknown error.",
  },
  131008: {
    status: 400,
    title: "Required parameter is missing",
    details: "A required parameter is missing.",
  },
  131026: {
    status: 400,
    title: "Message undeliverable",
    details:
      "Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone number; the recipient has not accepted WhatsApp's latest terms; the recipient uses an old WhatsApp version.",
  },
  131047: {
    status: 400,
    title: "Re-engagement message",
    details:
      "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
  },
  131056: {
    status: 400,
    title: "(Business Account, Consumer Account) pair rate limit hit",
    details:
      "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.",
    subcode: 2494071,
  },
  130429: {
    status: 429,
    title: "Rate limit hit",
    details:
      "Message failed to send because there were too many messages sent from this phone number in a short period of time",
    subcode: 2494055,
  },
  132000: {
    status: 400,
    title: "Number of parameters does not match the expected number of params",
    details:
      "The number of variable parameter values included in the request did not match the number of variable parameters defined in the template.",
  },
  132001: {
    status: 404,
    title: "Template name does not exist in the translation",
    details:
      "The template does not exist in the specified language or the template has not been approved.",
  },
};

const ERROR_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/";

const traceId = () => randomBytes(12).toString("base64url");

/** A Graph API error response: `{error: {message, type, code, error_data, error_subcode, fbtrace_id}}`. */
export function graphError(
  code: number,
  { status, message, details, subcode, type = "OAuthException" }: {
    status?: number;
    message?: string;
    details?: string;
    subcode?: number;
    type?: string;
  } = {},
): Response {
  const known = KNOWN_ERRORS[code];
  const error: Record<string, unknown> = {
    message: message ?? `(#${code}) ${known?.title ?? "Unknown error"}`,
    type,
    code,
  };
  if (details ?? known?.details) {
    error.error_data = { messaging_product: "whatsapp", details: details ?? known!.details };
  }
  if (subcode ?? known?.subcode) error.error_subcode = subcode ?? known!.subcode;
  error.fbtrace_id = traceId();
  return Response.json({ error }, { status: status ?? known?.status ?? 400 });
}

/** A wamid: base64 of an opaque id, as the Cloud API makes them. */
export const wamid = () => `wamid.${randomBytes(30).toString("base64")}`;

/** JSON as Meta sends it: non-ASCII escaped as \uXXXX. */
export function metaJson(value: unknown, escape: boolean): string {
  const s = JSON.stringify(value);
  return escape
    ? s.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    : s;
}

const seconds = (ms: number) => String(Math.floor(ms / 1000));

/** The `whatsapp_business_account` envelope every messages webhook comes in. */
export function webhookEnvelope(
  wabaId: string,
  number: { id: string; displayPhoneNumber: string },
  value: Record<string, unknown>,
): Record<string, unknown> {
  return {
    object: "whatsapp_business_account",
    entry: [{
      id: wabaId,
      changes: [{
        value: {
          messaging_product: "whatsapp",
          metadata: { display_phone_number: number.displayPhoneNumber, phone_number_id: number.id },
          ...value,
        },
        field: "messages",
      }],
    }],
  };
}

/**
 * One `statuses[]` entry. Pricing rides on sent and delivered; `conversation` (v23.0 and below
 * only) likewise, with its expiry on sent; a failure carries `errors[]`.
 */
export function statusEntry(
  m: SentMessage,
  status: StatusEvent,
  conversation?: { id: string; expires: number },
): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    id: m.id,
    status: status.status,
    timestamp: seconds(status.at),
    recipient_id: m.to,
  };
  if (typeof m.body.biz_opaque_callback_data === "string") {
    entry.biz_opaque_callback_data = m.body.biz_opaque_callback_data;
  }
  if (status.status === "failed") {
    const known = KNOWN_ERRORS[status.errorCode!]!;
    entry.errors = [{
      code: status.errorCode,
      title: known.title,
      message: known.title,
      error_data: { details: known.details },
      href: ERROR_HREF,
    }];
    return entry;
  }
  if (status.status === "read") return entry;
  if (conversation) {
    entry.conversation = {
      id: conversation.id,
      ...(status.status === "sent" ? { expiration_timestamp: seconds(conversation.expires) } : {}),
      origin: { type: m.category },
    };
  }
  entry.pricing = {
    billable: m.billable,
    pricing_model: "PMP",
    type: m.pricingType,
    category: m.category,
  };
  return entry;
}

const MEDIA_MIME = {
  image: "image/jpeg",
  audio: "audio/mpeg",
  video: "video/mp4",
  document: "application/pdf",
  sticker: "image/webp",
};

/** One `messages[]` entry of an inbound webhook, in the shape the Cloud API gives each type. */
export function inboundEntry(
  from: string,
  id: string,
  message: InboundMessage,
  { at, context, businessNumber, mediaId }: {
    at: number;
    /** The business message this one replies to (a button press or a quoted reply). */
    context?: string;
    businessNumber: string;
    mediaId: string;
  },
): Record<string, unknown> {
  const entry: Record<string, unknown> = { from, id, timestamp: seconds(at) };
  if (context) entry.context = { from: businessNumber, id: context };
  switch (message.type) {
    case "text":
      return { ...entry, type: "text", text: { body: message.body } };
    case "button":
      return { ...entry, type: "button", button: { payload: message.payload, text: message.text } };
    case "button_reply":
      return {
        ...entry,
        type: "interactive",
        interactive: {
          type: "button_reply",
          button_reply: { id: message.id, title: message.title },
        },
      };
    case "list_reply": {
      const { type: _t, ...reply } = message;
      return {
        ...entry,
        type: "interactive",
        interactive: { type: "list_reply", list_reply: reply },
      };
    }
    case "location": {
      const { type: _t, ...location } = message;
      return { ...entry, type: "location", location };
    }
    default:
      return {
        ...entry,
        type: message.type,
        [message.type]: {
          ...(message.caption ? { caption: message.caption } : {}),
          ...(message.filename ? { filename: message.filename } : {}),
          mime_type: message.mimeType ??
            (message.voice ? "audio/ogg; codecs=opus" : MEDIA_MIME[message.type]),
          sha256: randomBytes(32).toString("base64"),
          id: mediaId,
          ...(message.voice ? { voice: true } : {}),
        },
      };
  }
}
