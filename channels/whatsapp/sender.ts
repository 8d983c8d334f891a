/**
 * Sending on WhatsApp through the Cloud API (`POST /{version}/{phone-number-id}/messages` on
 * `WHATSAPP_API_URL`): free-form text only inside the 24-hour customer-service window, an
 * approved template the creator configured for the purpose outside it (or the delivery is
 * skipped with `outside_window_no_template`), quick replies as reply buttons or a list, mark as
 * read with the typing indicator, and the Graph API's error codes classified for the worker.
 */
import type { Connection } from "../core/connections.ts";
import type { DeliveryRequest } from "../../actors/mod.ts";
import { splitMessage } from "../core/format.ts";
import {
  type ChannelSender,
  type OutboundPart,
  ProviderError,
  type Recipient,
  type SendPlan,
} from "../core/sender.ts";

export const WHATSAPP_MAX_CHARS = 4096;
/** The customer-service window opened by each message the person sends. */
export const WINDOW_MS = 24 * 3600_000;

export interface WhatsAppOptions {
  /** Graph API base URL (`https://graph.facebook.com`, or a loopback fake in tests). */
  apiUrl: string;
  /** Graph API version, e.g. `v23.0`. */
  version: string;
  /** Default messages per second per phone number (Cloud API: 80) unless the connection says. */
  perSecond?: number;
  /** Least gap between two messages to one person, in ms. */
  chatIntervalMs?: number;
  timeoutMs?: number;
}

/** A template the creator configured on the connection for one purpose (or `default`). */
interface TemplateConfig {
  name: string;
  language: string;
  /** How many `{{n}}` body variables the template has. */
  body_variables?: number;
}

export class WhatsAppSender implements ChannelSender {
  readonly kind = "whatsapp";

  constructor(private readonly o: WhatsAppOptions) {}

  limits(conn: Connection) {
    const configured = Number(conn.config.messages_per_second);
    return {
      perSecond: configured > 0 ? configured : this.o.perSecond ?? 80,
      chatIntervalMs: this.o.chatIntervalMs ?? 1000,
    };
  }

  plan(req: DeliveryRequest, to: Recipient, conn: Connection, now: number): SendPlan {
    const inWindow = to.lastInboundAt !== null && now - to.lastInboundAt < WINDOW_MS;
    if (!inWindow) {
      const templates = (conn.config.templates ?? {}) as Record<string, TemplateConfig>;
      const t = templates[req.purpose] ?? templates.default;
      if (!t?.name || !t.language) return { skip: "outside_window_no_template" };
      const n = t.body_variables ?? 1;
      const values = req.templateVariables ?? [req.text];
      const variables = Array.from({ length: n }, (_, i) => (values[i] ?? "").slice(0, 1000));
      return {
        parts: [{ text: req.text, template: { name: t.name, language: t.language, variables } }],
      };
    }
    const text = req.citations?.length
      ? `${req.text}\n\nSources:\n${
        req.citations.map((c) => `• ${c.title}${c.url ? ` ${c.url}` : ""}`).join("\n")
      }`
      : req.text;
    const parts: OutboundPart[] = splitMessage(text, WHATSAPP_MAX_CHARS).map((t) => ({ text: t }));
    if (req.quickReplies?.length) parts[parts.length - 1]!.quickReplies = req.quickReplies;
    return { parts };
  }

  async send(part: OutboundPart, to: Recipient, conn: Connection) {
    const body = part.template
      ? {
        type: "template",
        template: {
          name: part.template.name,
          language: { code: part.template.language },
          components: part.template.variables.length
            ? [{
              type: "body",
              parameters: part.template.variables.map((text) => ({ type: "text", text })),
            }]
            : [],
        },
      }
      : part.quickReplies?.length
      ? { type: "interactive", interactive: interactiveOf(part) }
      : { type: "text", text: { body: part.text, preview_url: false } };
    const answer = await this.#call(conn, {
      messaging_product: "whatsapp",
      recipient_type: "individual",
      to: to.externalId,
      ...body,
    }) as { messages?: { id: string }[] };
    const id = answer.messages?.[0]?.id;
    if (!id) throw new ProviderError("retry", "The Cloud API answered without a message id");
    return { providerMessageId: id };
  }

  /** Marks the person's message read and shows the typing indicator (one call). */
  async typing(_to: Recipient, conn: Connection, inReplyTo?: string): Promise<void> {
    if (!inReplyTo) return;
    try {
      await this.#call(conn, {
        messaging_product: "whatsapp",
        status: "read",
        message_id: inReplyTo,
        typing_indicator: { type: "text" },
      });
    } catch { /* best effort */ }
  }

  async #call(conn: Connection, body: unknown): Promise<unknown> {
    const phoneNumberId = String(conn.config.phone_number_id ?? "");
    const token = conn.secrets.access_token;
    if (!phoneNumberId || !token) {
      throw new ProviderError(
        "permanent",
        "The WhatsApp connection lacks its phone number id or token",
      );
    }
    const url = `${this.o.apiUrl.replace(/\/$/, "")}/${this.o.version}/${phoneNumberId}/messages`;
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 30_000),
      });
    } catch (err) {
      throw new ProviderError("retry", `WhatsApp unreachable: ${String(err)}`, { code: "network" });
    }
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = JSON.parse(text);
    } catch { /* classified below */ }
    if (res.ok && json !== undefined) return json;
    throw classify(res.status, json, res.headers.get("retry-after"));
  }
}

function interactiveOf(part: OutboundPart) {
  const replies = part.quickReplies!;
  const body = { text: part.text.slice(0, 1024) };
  if (replies.length <= 3) {
    return {
      type: "button",
      body,
      action: {
        buttons: replies.map((q) => ({
          type: "reply",
          reply: { id: q.payload.slice(0, 256), title: q.label.slice(0, 20) },
        })),
      },
    };
  }
  return {
    type: "list",
    body,
    action: {
      button: "Choose",
      sections: [{
        title: "Options",
        rows: replies.slice(0, 10).map((q) => ({
          id: q.payload.slice(0, 200),
          title: q.label.slice(0, 24),
        })),
      }],
    },
  };
}

/** Graph API error codes that mean "slow down": throughput, pair rate, spam rate. */
const RATE_CODES = new Set([4, 80007, 130429, 131048, 131056]);
/** Codes that mean the person cannot be reached on WhatsApp. */
const UNREACHABLE_CODES = new Set([131026]);
/** Transient server-side trouble. */
const TRANSIENT_CODES = new Set([1, 2, 131000, 133004]);

export function classify(status: number, json: unknown, retryAfter: string | null): ProviderError {
  const e = (json as { error?: { code?: number; message?: string; error_subcode?: number } })
    ?.error;
  const code = e?.code;
  const message = e?.message ?? `HTTP ${status}`;
  const after = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : undefined;
  if (status === 429 || (code !== undefined && RATE_CODES.has(code))) {
    return new ProviderError("retry", message, {
      code: code ?? status,
      retryAfterMs: after,
      // 131056 is one recipient being sent too much; the others are the whole number.
      connectionWide: code !== 131056,
    });
  }
  if (code !== undefined && UNREACHABLE_CODES.has(code)) {
    return new ProviderError("unreachable", message, { code });
  }
  if (status >= 500 || (code !== undefined && TRANSIENT_CODES.has(code))) {
    return new ProviderError("retry", message, { code: code ?? status, retryAfterMs: after });
  }
  return new ProviderError("permanent", message, { code: code ?? status });
}
