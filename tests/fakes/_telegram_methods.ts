/**
 * The Bot API methods the fake Telegram answers, each validating its parameters like the real API
 * and answering with the same result objects and error descriptions.
 */
import type {
  BotCommand,
  InlineKeyboardButton,
  InlineKeyboardMarkup,
  Message,
  MessageEntity,
  Update,
} from "grammy/types";
import { EntityParseError, parseFormatted, UnsupportedParseMode } from "./_telegram_text.ts";
import type { FakeBot, FakeChat } from "./telegram.ts";

/** A failed call as the API answers it. */
export interface ApiFailure {
  ok: false;
  error_code: number;
  description: string;
  parameters?: { retry_after?: number; migrate_to_chat_id?: number };
}

export type ApiResult = { ok: true; result: unknown; description?: string } | ApiFailure;

/** Thrown by a method to answer with an error. */
export class ApiError extends Error {
  constructor(readonly failure: ApiFailure) {
    super(failure.description);
    this.name = "ApiError";
  }
}

export const badRequest = (detail: string) =>
  new ApiError({ ok: false, error_code: 400, description: `Bad Request: ${detail}` });

/** What a method sees of the server around it. */
export interface MethodContext {
  bot: FakeBot;
  params: Record<string, unknown>;
  /** Milliseconds, from the fake's clock. */
  now: number;
  maxTextLength: number;
  /** Applies the flood limits for one outgoing message to `chat`; throws the 429. */
  flood(chat: FakeChat): void;
  /** Waits for updates for getUpdates (long polling). */
  poll(ctx: MethodContext, timeoutSeconds: number): Promise<"update" | "timeout" | "conflict">;
}

type Method = (ctx: MethodContext) => ApiResult | Promise<ApiResult>;

const ok = (result: unknown, description?: string): ApiResult =>
  description === undefined ? { ok: true, result } : { ok: true, result, description };

// --- parameter readers: JSON bodies keep types, form fields arrive as strings ------------------

function int(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "string" && /^-?\d+$/.test(v.trim())) return Number(v.trim());
  return undefined;
}

function str(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  return undefined;
}

function bool(v: unknown): boolean {
  return v === true || v === "true" || v === "1" || v === 1;
}

function json<T>(v: unknown, name: string): T | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") return v as T;
  try {
    return JSON.parse(v) as T;
  } catch {
    throw badRequest(`can't parse ${name} JSON object`);
  }
}

const dateOf = (ms: number) => Math.floor(ms / 1000);

// --- shared checks ----------------------------------------------------------------------------

/** The target chat of a call: present, known to the bot, and not blocking it. */
function targetChat(ctx: MethodContext, { allowBlocked = false } = {}): FakeChat {
  const raw = ctx.params.chat_id;
  const id = str(raw);
  if (id === undefined || id.trim() === "") throw badRequest("chat_id is empty");
  const chat = ctx.bot.findChat(id.trim());
  if (!chat) throw badRequest("chat not found");
  if (chat.blocked && !allowBlocked) {
    const description = chat.chat.type === "private"
      ? "Forbidden: bot was blocked by the user"
      : chat.chat.type === "supergroup"
      ? "Forbidden: bot was kicked from the supergroup chat"
      : chat.chat.type === "channel"
      ? "Forbidden: bot was kicked from the channel chat"
      : "Forbidden: bot was kicked from the group chat";
    throw new ApiError({ ok: false, error_code: 403, description });
  }
  return chat;
}

/** Message text after `parse_mode` or `entities`, with the API's length and emptiness rules. */
function messageText(
  ctx: MethodContext,
  field: "text" | "caption",
  { allowEmpty = false } = {},
): { text: string; entities: MessageEntity[] } {
  const raw = str(ctx.params[field]) ?? "";
  const entities = json<MessageEntity[]>(
    ctx.params[`${field === "text" ? "" : "caption_"}entities`],
    "entities",
  );
  let parsed;
  try {
    parsed = parseFormatted(raw, str(ctx.params.parse_mode), entities ?? []);
  } catch (err) {
    if (err instanceof EntityParseError) throw badRequest(err.message);
    if (err instanceof UnsupportedParseMode) throw badRequest("unsupported parse_mode");
    throw err;
  }
  if (!allowEmpty && parsed.text.trim() === "") throw badRequest("message text is empty");
  if (parsed.text.length > ctx.maxTextLength) throw badRequest("message is too long");
  return parsed;
}

const CALLBACK_DATA_MAX_BYTES = 64;

/** An inline keyboard checked like the API checks it; other markups are passed through. */
function replyMarkup(ctx: MethodContext): Message["reply_markup"] | undefined {
  const markup = json<Record<string, unknown>>(ctx.params.reply_markup, "reply markup");
  if (markup === undefined) return undefined;
  if (!("inline_keyboard" in markup)) return undefined; // reply keyboards are not echoed in Message
  const rows = markup.inline_keyboard;
  if (!Array.isArray(rows) || rows.some((r) => !Array.isArray(r))) {
    throw badRequest(
      'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays',
    );
  }
  for (const row of rows as InlineKeyboardButton[][]) {
    for (const button of row) {
      if (typeof button !== "object" || button === null || typeof button.text !== "string") {
        throw badRequest(
          'can\'t parse inline keyboard button: Field "text" must be of type String',
        );
      }
      const actions = Object.keys(button).filter((k) =>
        k !== "text" && k !== "style" && k !== "icon_custom_emoji_id"
      );
      if (actions.length === 0) {
        throw badRequest(
          "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
        );
      }
      if ("callback_data" in button) {
        const bytes = new TextEncoder().encode(button.callback_data).length;
        if (bytes < 1 || bytes > CALLBACK_DATA_MAX_BYTES) throw badRequest("BUTTON_DATA_INVALID");
      }
      if ("url" in button && !/^(https?|tg):\/\//i.test(button.url)) {
        throw badRequest(`inline keyboard button URL '${button.url}' is invalid: Wrong HTTP URL`);
      }
    }
  }
  return { inline_keyboard: rows } as InlineKeyboardMarkup;
}

/** The message a call replies to, if any (`reply_parameters` or the older `reply_to_message_id`). */
function replyTarget(ctx: MethodContext, chat: FakeChat): Message | undefined {
  const rp = json<{ message_id?: number; allow_sending_without_reply?: boolean }>(
    ctx.params.reply_parameters,
    "reply parameters",
  );
  const id = int(rp?.message_id ?? ctx.params.reply_to_message_id);
  if (id === undefined) return undefined;
  const target = chat.messages.get(id);
  const allowMissing = rp?.allow_sending_without_reply ??
    bool(ctx.params.allow_sending_without_reply);
  if (!target && !allowMissing) throw badRequest("message to be replied not found");
  return target;
}

function withoutReply(m: Message): Message {
  const { reply_to_message: _drop, ...rest } = m as Message & { reply_to_message?: unknown };
  return rest as Message;
}

// --- methods ----------------------------------------------------------------------------------

const getMe: Method = ({ bot }) => ok(bot.user);

const sendMessage: Method = (ctx) => {
  const chat = targetChat(ctx);
  const { text, entities } = messageText(ctx, "text");
  const markup = replyMarkup(ctx);
  const replyTo = replyTarget(ctx, chat);
  ctx.flood(chat);
  const message = {
    message_id: chat.nextMessageId++,
    from: ctx.bot.sender,
    chat: chat.chat,
    date: dateOf(ctx.now),
    text,
    ...(entities.length > 0 ? { entities } : {}),
    ...(markup ? { reply_markup: markup } : {}),
    ...(replyTo ? { reply_to_message: withoutReply(replyTo) } : {}),
  } as Message;
  chat.messages.set(message.message_id, message);
  chat.drafts.clear(); // a sent message replaces the draft being streamed
  return ok(message);
};

const CHAT_ACTIONS = new Set([
  "typing",
  "upload_photo",
  "record_video",
  "upload_video",
  "record_voice",
  "upload_voice",
  "upload_document",
  "choose_sticker",
  "find_location",
  "record_video_note",
  "upload_video_note",
]);

const sendChatAction: Method = (ctx) => {
  const chat = targetChat(ctx);
  const action = str(ctx.params.action);
  if (action === undefined || !CHAT_ACTIONS.has(action)) {
    throw badRequest("wrong parameter action in request");
  }
  chat.actions.push({ action, at: ctx.now });
  return ok(true);
};

const sendMessageDraft: Method = (ctx) => {
  const chat = targetChat(ctx);
  if (chat.chat.type !== "private") throw badRequest("chat must be a private chat");
  const draftId = int(ctx.params.draft_id);
  if (draftId === undefined || draftId === 0) throw badRequest("draft_id must be non-zero");
  const { text, entities } = messageText(ctx, "text", { allowEmpty: true });
  const previous = chat.drafts.get(draftId);
  chat.drafts.set(draftId, { text, entities, updates: (previous?.updates ?? 0) + 1, at: ctx.now });
  return ok(true);
};

/** The bot's own message in a chat named by `chat_id` and `message_id`. */
function editableMessage(
  ctx: MethodContext,
  notFound: string,
): { chat: FakeChat; message: Message } {
  if (ctx.params.inline_message_id !== undefined) throw badRequest("MESSAGE_ID_INVALID");
  const chat = targetChat(ctx);
  const id = int(ctx.params.message_id);
  if (id === undefined) throw badRequest("message identifier is not specified");
  const message = chat.messages.get(id);
  if (!message) throw badRequest(notFound);
  if (message.from?.id !== ctx.bot.user.id) throw badRequest("message can't be edited");
  return { chat, message };
}

const NOT_MODIFIED =
  "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message";

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

const editMessageText: Method = (ctx) => {
  const { chat, message } = editableMessage(ctx, "message to edit not found");
  if (!("text" in message)) throw badRequest("there is no text in the message to edit");
  const { text, entities } = messageText(ctx, "text");
  const markup = replyMarkup(ctx);
  const m = message as Message.TextMessage;
  if (m.text === text && same(m.entities ?? [], entities) && same(m.reply_markup, markup)) {
    throw badRequest(NOT_MODIFIED);
  }
  ctx.flood(chat);
  const { entities: _e, reply_markup: _r, ...rest } = m;
  const edited = {
    ...rest,
    text,
    edit_date: dateOf(ctx.now),
    ...(entities.length > 0 ? { entities } : {}),
    ...(markup ? { reply_markup: markup } : {}),
  } as Message;
  chat.messages.set(m.message_id, edited);
  return ok(edited);
};

const editMessageReplyMarkup: Method = (ctx) => {
  const { chat, message } = editableMessage(ctx, "message to edit not found");
  const markup = replyMarkup(ctx);
  if (same(message.reply_markup, markup)) throw badRequest(NOT_MODIFIED);
  const edited = { ...message, edit_date: dateOf(ctx.now) } as Message;
  if (markup) edited.reply_markup = markup as InlineKeyboardMarkup;
  else delete edited.reply_markup;
  chat.messages.set(message.message_id, edited);
  return ok(edited);
};

const deleteMessage: Method = (ctx) => {
  const chat = targetChat(ctx);
  const id = int(ctx.params.message_id);
  if (id === undefined || !chat.messages.has(id)) throw badRequest("message to delete not found");
  chat.messages.delete(id);
  return ok(true);
};

const answerCallbackQuery: Method = (ctx) => {
  const id = str(ctx.params.callback_query_id);
  const query = id === undefined ? undefined : ctx.bot.callbackQueries.get(id);
  if (!query || query.answer !== undefined) {
    throw badRequest("query is too old and response timeout expired or query ID is invalid");
  }
  query.answer = {
    text: str(ctx.params.text),
    show_alert: bool(ctx.params.show_alert),
    url: str(ctx.params.url),
    at: ctx.now,
  };
  return ok(true);
};

const setWebhook: Method = (ctx) => {
  const url = str(ctx.params.url) ?? "";
  const { bot } = ctx;
  if (bool(ctx.params.drop_pending_updates)) bot.queue.length = 0;
  if (url === "") {
    bot.webhook = undefined;
    return ok(true, "Webhook was deleted");
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badRequest("bad webhook: Failed to resolve host: Name or service not known");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw badRequest("bad webhook: An HTTPS URL must be provided for webhook");
  }
  const secret = str(ctx.params.secret_token);
  if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secret)) {
    throw badRequest("secret token contains unallowed characters");
  }
  const allowed = json<string[]>(ctx.params.allowed_updates, "allowed updates");
  const already = bot.webhook?.url === url && bot.webhook.secretToken === secret;
  bot.webhook = {
    url,
    secretToken: secret,
    maxConnections: int(ctx.params.max_connections) ?? 40,
  };
  if (allowed !== undefined) bot.allowedUpdates = allowed;
  return ok(true, already ? "Webhook is already set" : "Webhook was set");
};

const deleteWebhook: Method = (ctx) => {
  const { bot } = ctx;
  if (bool(ctx.params.drop_pending_updates)) bot.queue.length = 0;
  const had = bot.webhook !== undefined;
  bot.webhook = undefined;
  return ok(true, had ? "Webhook was deleted" : "Webhook is already deleted");
};

const getWebhookInfo: Method = ({ bot }) =>
  ok({
    url: bot.webhook?.url ?? "",
    has_custom_certificate: false,
    pending_update_count: bot.queue.length,
    ...(bot.webhook ? { max_connections: bot.webhook.maxConnections } : {}),
    ...(bot.webhook && bot.allowedUpdates ? { allowed_updates: bot.allowedUpdates } : {}),
    ...(bot.lastError
      ? { last_error_date: dateOf(bot.lastError.at), last_error_message: bot.lastError.message }
      : {}),
  });

const getUpdates: Method = async (ctx) => {
  const { bot } = ctx;
  bot.poller?.("conflict"); // any newer getUpdates ends the one waiting
  if (bot.webhook) {
    throw new ApiError({
      ok: false,
      error_code: 409,
      description:
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    });
  }
  const offset = int(ctx.params.offset);
  if (offset !== undefined) bot.confirmUpdates(offset);
  const limit = Math.min(100, Math.max(1, int(ctx.params.limit) ?? 100));
  const allowed = json<string[]>(ctx.params.allowed_updates, "allowed updates");
  if (allowed !== undefined) bot.allowedUpdates = allowed.length > 0 ? allowed : undefined;
  const timeout = Math.max(0, int(ctx.params.timeout) ?? 0);
  if (bot.queue.length === 0 && timeout > 0) {
    const outcome = await ctx.poll(ctx, timeout);
    if (outcome === "conflict") {
      throw new ApiError({
        ok: false,
        error_code: 409,
        description:
          "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
      });
    }
  }
  return ok(bot.queue.slice(0, limit) satisfies Update[]);
};

const setMyCommands: Method = (ctx) => {
  const commands = json<BotCommand[]>(ctx.params.commands, "commands");
  if (!Array.isArray(commands)) throw badRequest('parameter "commands" is required');
  for (const c of commands) {
    if (!/^[a-z0-9_]{1,32}$/.test(c.command ?? "")) throw badRequest("BOT_COMMAND_INVALID");
    if (!c.description || c.description.length > 256) {
      throw badRequest("BOT_COMMAND_DESCRIPTION_INVALID");
    }
  }
  ctx.bot.commands = commands;
  return ok(true);
};

const getMyCommands: Method = ({ bot }) => ok(bot.commands);

const deleteMyCommands: Method = (ctx) => {
  ctx.bot.commands = [];
  return ok(true);
};

/** Methods by lower-cased name: the API's method names are case-insensitive. */
export const METHODS: Record<string, Method> = Object.fromEntries(
  Object.entries({
    getMe,
    sendMessage,
    sendChatAction,
    sendMessageDraft,
    editMessageText,
    editMessageReplyMarkup,
    deleteMessage,
    answerCallbackQuery,
    setWebhook,
    deleteWebhook,
    getWebhookInfo,
    getUpdates,
    setMyCommands,
    getMyCommands,
    deleteMyCommands,
  }).map(([name, fn]) => [name.toLowerCase(), fn]),
);

/** Methods that send or change a message in a chat, and so count against the flood limits. */
export const FLOOD_METHODS = new Set(["sendmessage", "editmessagetext"]);
