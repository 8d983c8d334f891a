/**
 * Sending on Telegram through grammY's `Api` (pointed at `TELEGRAM_API_URL`): answers split at
 * 4,096 characters, escaped HTML (never raw MarkdownV2), citations as links, quick replies as an
 * inline keyboard, long answers streamed as a draft before the final message, and the Bot API's
 * errors classified for the delivery worker.
 */
import { Api, GrammyError, HttpError } from "grammy/web";
import type { InlineKeyboardButton } from "grammy/types";
import type { Connection } from "../core/connections.ts";
import type { DeliveryRequest } from "../../actors/mod.ts";
import { PROACTIVE_PURPOSES } from "../../actors/mod.ts";
import { escapeTelegramHtml, splitMessage } from "../core/format.ts";
import {
  type ChannelSender,
  type OutboundPart,
  ProviderError,
  type Recipient,
  type SendPlan,
} from "../core/sender.ts";

/** Telegram's limit on one message's text, after entities are parsed. */
export const TELEGRAM_MAX_CHARS = 4096;
/** Answers at least this long are streamed as a draft first (where the bot allows drafts). */
const DRAFT_FROM_CHARS = 600;
/** How long one "typing" action shows in the chat. */
const TYPING_SHOWN_MS = 4000;
/** Telegram's bytes limit on an inline button's callback data. */
const CALLBACK_DATA_BYTES = 64;

export interface TelegramOptions {
  /** The Bot API base URL (`https://api.telegram.org`, or a loopback fake in tests). */
  apiRoot: string;
  /**
   * Messages per second per bot (Telegram allows about 30; 25 leaves room for jitter) and the
   * least gap per chat (about 1 s).
   */
  perSecond?: number;
  chatIntervalMs?: number;
  /** Stream long answers with sendMessageDraft before the final sendMessage. */
  drafts?: boolean;
}

export class TelegramSender implements ChannelSender {
  readonly kind = "telegram";
  readonly #apis = new Map<string, Api>();
  /** When "typing" was last shown in a chat (connection and chat id). */
  readonly #typingShown = new Map<string, number>();

  constructor(private readonly o: TelegramOptions) {}

  /** The grammY client of a bot token (one per token). */
  api(token: string): Api {
    let api = this.#apis.get(token);
    if (!api) {
      api = new Api(token, { apiRoot: this.o.apiRoot, timeoutSeconds: 30 });
      this.#apis.set(token, api);
    }
    return api;
  }

  limits() {
    return { perSecond: this.o.perSecond ?? 25, chatIntervalMs: this.o.chatIntervalMs ?? 1000 };
  }

  plan(req: DeliveryRequest, to: Recipient): SendPlan {
    // A bot may only write to people who started it; anyone who wrote to us has.
    if (PROACTIVE_PURPOSES.includes(req.purpose) && !to.startedAt && !to.lastInboundAt) {
      return { skip: "not_started" };
    }
    const parts: OutboundPart[] = splitMessage(req.text, TELEGRAM_MAX_CHARS).map((text) => ({
      text,
    }));
    const sources = citationsLine(req.citations ?? []);
    if (sources) {
      const last = parts[parts.length - 1]!;
      if (last.text.length + sources.plain.length + 2 <= TELEGRAM_MAX_CHARS) {
        last.text = `${last.text}\n\n${sources.plain}`;
      } else parts.push({ text: sources.plain });
    }
    if (req.quickReplies?.length) {
      parts[parts.length - 1]!.quickReplies = req.quickReplies.filter((q) =>
        new TextEncoder().encode(q.payload).length <= CALLBACK_DATA_BYTES
      );
    }
    return { parts };
  }

  async send(part: OutboundPart, to: Recipient, conn: Connection) {
    const api = this.api(tokenOf(conn));
    const chatId = Number(to.externalId);
    const html = toHtml(part.text);
    const keyboard: InlineKeyboardButton[][] = (part.quickReplies ?? []).map((q) => [{
      text: q.label,
      callback_data: q.payload,
    }]);
    try {
      if ((this.o.drafts ?? true) && part.text.length >= DRAFT_FROM_CHARS) {
        await this.#streamDraft(api, chatId, part.text);
      }
      const sent = await api.sendMessage(chatId, html, {
        parse_mode: "HTML",
        link_preview_options: { is_disabled: true },
        ...(keyboard.length ? { reply_markup: { inline_keyboard: keyboard } } : {}),
      });
      return { providerMessageId: String(sent.message_id) };
    } catch (err) {
      throw classify(err);
    }
  }

  async typing(to: Recipient, conn: Connection): Promise<void> {
    // Telegram shows "typing" for about 5 s: one call per chat in that time is enough.
    const key = `${conn.id}:${to.externalId}`;
    const now = Date.now();
    if ((this.#typingShown.get(key) ?? 0) > now - TYPING_SHOWN_MS) return;
    this.#typingShown.set(key, now);
    if (this.#typingShown.size > 50_000) {
      for (const [k, at] of this.#typingShown) {
        if (at <= now - TYPING_SHOWN_MS) this.#typingShown.delete(k);
      }
    }
    try {
      await this.api(tokenOf(conn)).sendChatAction(Number(to.externalId), "typing");
    } catch { /* best effort: the answer matters, the indicator does not */ }
  }

  /** Two growing drafts of the answer; a bot without draft support just skips them. */
  async #streamDraft(api: Api, chatId: number, text: string) {
    const draftId = 1 + Math.floor(Math.random() * 2_000_000_000);
    for (const share of [0.35, 0.7]) {
      const cut = text.lastIndexOf(" ", Math.floor(text.length * share));
      try {
        await api.sendMessageDraft(chatId, draftId, `${text.slice(0, cut > 0 ? cut : undefined)}…`);
      } catch (err) {
        if (err instanceof GrammyError && err.error_code === 429) throw err;
        return; // drafts are a courtesy; the final message still goes out
      }
    }
  }
}

export function tokenOf(conn: Connection): string {
  const token = conn.secrets.bot_token;
  if (!token) throw new ProviderError("permanent", "The Telegram connection has no bot token");
  return token;
}

/** Plain text with links written as `title (url)` turned into escaped HTML with anchors. */
function toHtml(text: string): string {
  return escapeTelegramHtml(text).replace(
    /(^|\n)• ([^\n(]+) \((https?:\/\/[^\s)]+)\)/g,
    (_m, lead, title, url) => `${lead}• <a href="${url.replaceAll('"', "&quot;")}">${title}</a>`,
  );
}

function citationsLine(citations: NonNullable<DeliveryRequest["citations"]>) {
  if (!citations.length) return undefined;
  const lines = citations.map((c) => `• ${c.title}${c.url ? ` (${c.url})` : ""}`);
  return { plain: ["Sources:", ...lines].join("\n") };
}

/** Bot API answers as the delivery worker's error kinds. */
export function classify(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof GrammyError) {
    const code = err.error_code;
    const description = err.description;
    if (code === 429) {
      const after = err.parameters.retry_after;
      return new ProviderError("retry", description, {
        code,
        retryAfterMs: after !== undefined ? after * 1000 : undefined,
      });
    }
    if (code === 403) return new ProviderError("unreachable", description, { code });
    if (code >= 500) return new ProviderError("retry", description, { code });
    return new ProviderError("permanent", description, { code });
  }
  if (err instanceof HttpError) {
    return new ProviderError("retry", `Telegram unreachable: ${String(err.error)}`, {
      code: "network",
    });
  }
  return new ProviderError("retry", String(err), { code: "unknown" });
}
