/**
 * Telegram updates in the normalized shape: private-chat messages (text, commands with their
 * deep-link payload, edits, media), inline-button presses, and the person blocking or
 * unblocking the bot. Everything else (groups, channels, inline queries) is ignored.
 */
import type { Update } from "grammy/types";
import type { InboundContent, NormalizedInbound } from "../../actors/mod.ts";

export type TelegramEvent =
  | { type: "message"; message: NormalizedInbound; callbackQueryId?: string }
  | { type: "reachability"; externalUserId: string; reachable: boolean; reason: string }
  | { type: "ignored"; why: string };

export function normalizeUpdate(
  update: Update,
  where: { creatorId: string; connectionId: string },
): TelegramEvent {
  const base = { channel: "telegram" as const, ...where };
  const msg = update.message ?? update.edited_message;
  if (msg) {
    if (msg.chat.type !== "private") return { type: "ignored", why: `${msg.chat.type} chat` };
    const edited = update.edited_message !== undefined;
    return {
      type: "message",
      message: {
        ...base,
        externalUserId: String(msg.chat.id),
        // An edit is a new message for the coach; the same edit delivered twice is one.
        externalMessageId: edited
          ? `e${msg.message_id}:${msg.edit_date ?? update.update_id}`
          : `m${msg.message_id}`,
        displayName: [msg.from?.first_name, msg.from?.last_name].filter(Boolean).join(" "),
        locale: msg.from?.language_code,
        sentAt: (msg.edit_date ?? msg.date) * 1000,
        content: contentOf(msg),
      },
    };
  }
  const cb = update.callback_query;
  if (cb) {
    const chat = cb.message?.chat;
    if (chat && chat.type !== "private") return { type: "ignored", why: `${chat.type} chat` };
    return {
      type: "message",
      callbackQueryId: cb.id,
      message: {
        ...base,
        externalUserId: String(chat?.id ?? cb.from.id),
        externalMessageId: `c${cb.id}`,
        displayName: [cb.from.first_name, cb.from.last_name].filter(Boolean).join(" "),
        locale: cb.from.language_code,
        sentAt: Date.now(),
        content: { type: "button", payload: cb.data ?? "", text: buttonLabel(cb) },
      },
    };
  }
  const member = update.my_chat_member;
  if (member) {
    if (member.chat.type !== "private") return { type: "ignored", why: "group membership" };
    const status = member.new_chat_member.status;
    const reachable = status === "member" || status === "administrator" || status === "creator";
    return {
      type: "reachability",
      externalUserId: String(member.chat.id),
      reachable,
      reason: reachable ? "unblocked" : `bot ${status === "kicked" ? "blocked" : status}`,
    };
  }
  return {
    type: "ignored",
    why: `update without a handled kind (${Object.keys(update).join(",")})`,
  };
}

type Msg = NonNullable<Update["message"]>;

function contentOf(msg: Msg): InboundContent {
  const text = msg.text;
  if (text !== undefined) {
    const command = /^\/([A-Za-z0-9_]{1,64})(?:@\w+)?(?:\s+([\s\S]*))?$/.exec(text.trim());
    if (command) {
      return {
        type: "command",
        command: command[1]!.toLowerCase(),
        args: command[2]?.trim() ?? "",
      };
    }
    return text.trim() ? { type: "text", text: text.slice(0, 8000) } : attachment("other");
  }
  const caption = msg.caption?.slice(0, 4000);
  if (msg.photo) return attachment("image", caption);
  if (msg.voice || msg.audio) return attachment("audio", caption);
  if (msg.video || msg.video_note || msg.animation) return attachment("video", caption);
  if (msg.document) return attachment("document", caption);
  if (msg.sticker) return attachment("sticker");
  if (msg.location || msg.venue) return attachment("location");
  if (msg.contact) return attachment("contact");
  return attachment("other", caption);
}

function attachment(
  kind: Extract<InboundContent, { type: "attachment" }>["kind"],
  caption?: string,
) {
  return { type: "attachment" as const, kind, ...(caption ? { caption } : {}) };
}

/** The label of the pressed inline button, found in the message's keyboard. */
function buttonLabel(cb: NonNullable<Update["callback_query"]>): string {
  const rows = cb.message && "reply_markup" in cb.message
    ? cb.message.reply_markup?.inline_keyboard ?? []
    : [];
  for (const row of rows) {
    for (const b of row) if ("callback_data" in b && b.callback_data === cb.data) return b.text;
  }
  return cb.data ?? "";
}
