/**
 * A loopback Telegram Bot API for tests: `/bot<token>/<method>` with the real envelope
 * (`{ok, result}` / `{ok: false, error_code, description, parameters}`), validation, flood
 * limits, scripted failures, and Telegram's side of updates (webhook POSTs with the secret token
 * header, or a queue for getUpdates long polling). Point grammy at it with
 * `new Bot(token, { client: { apiRoot: fake.url } })`.
 */
import type { BotCommand, Chat, Message, MessageEntity, Update, User } from "grammy/types";
import { postRaw, readParams, serveLoopback } from "./_http.ts";
import {
  type BucketRule,
  busiestWindow,
  type Clock,
  FailureScript,
  TokenBuckets,
} from "./_limits.ts";
import {
  ApiError,
  type ApiFailure,
  type ApiResult,
  FLOOD_METHODS,
  type MethodContext,
  METHODS,
} from "./_telegram_methods.ts";

/** A bot the fake knows. `token` is `<bot id>:<secret>`, as BotFather makes them. */
export interface FakeBotInit {
  token: string;
  username?: string;
  firstName?: string;
}

/** Telegram's flood limits: bursts per chat and per bot, refilled per second. */
export interface FloodLimits {
  /** About one message per second in a private chat, with short bursts. */
  privateChat: BucketRule;
  /** 20 messages per minute in a group. */
  groupChat: BucketRule;
  /** About 30 messages per second per bot across all chats. */
  bot: BucketRule;
}

export const DEFAULT_FLOOD_LIMITS: FloodLimits = {
  privateChat: { burst: 3, perSecond: 1 },
  groupChat: { burst: 20, perSecond: 20 / 60 },
  bot: { burst: 30, perSecond: 30 },
};

export interface FakeTelegramOptions {
  /** Default: one bot with {@link DEFAULT_BOT_TOKEN}. */
  bots?: FakeBotInit[];
  /** `false` turns flood control off. Default {@link DEFAULT_FLOOD_LIMITS}. */
  floodLimits?: Partial<FloodLimits> | false;
  /** Milliseconds; drives message dates and flood limits. Default `Date.now`. */
  now?: Clock;
  /** Characters (UTF-16 code units) after entity parsing. Default 4096. */
  maxTextLength?: number;
  /** Called with each request as it arrives (benchmarks time arrivals with it). */
  onRequest?: (r: TelegramRequest) => void;
}

export const DEFAULT_BOT_TOKEN = "7000000001:AAFakeTelegramTokenForCoachdTests";

/** One call the fake received. */
export interface TelegramRequest {
  /** As written in the URL. */
  method: string;
  token: string;
  params: Record<string, unknown>;
  /** Milliseconds, from the fake's clock. */
  at: number;
  /** The HTTP status answered (0 while a long poll is still open). */
  status: number;
  /** The error description, when the call failed. */
  description?: string;
  /** True for a call Telegram read from a webhook's answer body. */
  viaWebhookReply?: boolean;
}

/** A failure a test scripts for the next calls of a method. */
export type TelegramFailure =
  /** 429 with `parameters.retry_after`, as flood control answers. */
  | { kind: "flood"; retryAfter: number }
  /** 500 with the API's JSON envelope. */
  | { kind: "internal" }
  /** 502 with an HTML page, as the proxy in front of the API answers when the backend is down. */
  | { kind: "bad_gateway" }
  /** Any API error. */
  | { kind: "error"; errorCode: number; description: string };

/** A chat as one bot sees it: its messages (both sides), drafts, chat actions, block state. */
export interface FakeChat {
  chat: Chat;
  /** Every message in the chat by id, the user's and the bot's. */
  messages: Map<number, Message>;
  nextMessageId: number;
  /** Private chat: the user blocked the bot. Group: the bot was removed. */
  blocked: boolean;
  /** The draft being streamed, by draft_id, cleared when a message is sent. */
  drafts: Map<number, { text: string; entities: MessageEntity[]; updates: number; at: number }>;
  actions: { action: string; at: number }[];
}

/** What `deliverUpdate` did with an update. */
export type Delivery =
  | { via: "webhook"; status: number; body: string }
  | { via: "queue" }
  /** The bot's allowed_updates exclude this kind of update. */
  | { via: "filtered" };

/** Telegram excludes these from delivery unless allowed_updates names them. */
const NOT_DEFAULT_UPDATES = new Set(["chat_member", "message_reaction", "message_reaction_count"]);

/** A bot: its identity, webhook, update queue and chats. */
export class FakeBot {
  /** What getMe answers. */
  readonly user: User & { is_bot: true };
  /** The bot as the `from` of its messages: identity only, without getMe's capability flags. */
  readonly sender: User;
  webhook?: { url: string; secretToken?: string; maxConnections: number };
  allowedUpdates?: string[];
  /** Updates waiting for getUpdates, and webhook deliveries that failed. */
  readonly queue: Update[] = [];
  readonly chats = new Map<number, FakeChat>();
  readonly callbackQueries = new Map<
    string,
    {
      query: NonNullable<Update["callback_query"]>;
      answer?: { text?: string; show_alert: boolean; url?: string; at: number };
    }
  >();
  commands: BotCommand[] = [];
  lastError?: { at: number; message: string };
  /** A long poll waiting for updates. */
  poller?: (outcome: "update" | "conflict") => void;
  #nextUpdateId = 700_000_001;

  constructor(readonly token: string, init: FakeBotInit, readonly fake: FakeTelegram) {
    const id = Number(token.split(":")[0]);
    this.user = {
      id,
      is_bot: true,
      first_name: init.firstName ?? "Coachd Test",
      username: init.username ?? `test_${id}_bot`,
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
      has_topics_enabled: false,
      allows_users_to_create_topics: false,
    } as User & { is_bot: true };
    this.sender = {
      id,
      is_bot: true,
      first_name: this.user.first_name,
      username: this.user.username,
    };
  }

  /** A chat by numeric id or `@username`. */
  findChat(id: string | number): FakeChat | undefined {
    if (typeof id === "string" && id.startsWith("@")) {
      const name = id.slice(1).toLowerCase();
      return [...this.chats.values()].find((c) =>
        "username" in c.chat && c.chat.username?.toLowerCase() === name
      );
    }
    return this.chats.get(Number(id));
  }

  /** The private chat with `user`, opened if new (as when the user presses Start). */
  privateChat(user: User): FakeChat {
    return this.chats.get(user.id) ?? this.#open({
      id: user.id,
      type: "private",
      first_name: user.first_name,
      ...(user.last_name ? { last_name: user.last_name } : {}),
      ...(user.username ? { username: user.username } : {}),
    });
  }

  /** A group the bot was added to. Supergroup ids look like -100…. */
  addGroup(
    init: { title: string; type?: "group" | "supergroup"; id?: number; username?: string },
  ): FakeChat {
    const type = init.type ?? "supergroup";
    const id = init.id ??
      (type === "supergroup" ? -1_000_000_000_000 : 0) - (this.chats.size + 1) * 7919;
    return this.#open(
      {
        id,
        type,
        title: init.title,
        ...(init.username ? { username: init.username } : {}),
      } as Chat,
    );
  }

  #open(chat: Chat): FakeChat {
    const c: FakeChat = {
      chat,
      messages: new Map(),
      nextMessageId: 1,
      blocked: false,
      drafts: new Map(),
      actions: [],
    };
    this.chats.set(chat.id, c);
    return c;
  }

  /** The user blocks the bot (or unblocks it): sends then answer 403. */
  setBlocked(userOrChatId: number, blocked = true): void {
    const chat = this.chats.get(userOrChatId);
    if (!chat) {
      throw new Error(`fake telegram: no chat ${userOrChatId} for bot ${this.user.username}`);
    }
    chat.blocked = blocked;
  }

  /** Messages the bot sent (still present, with edits applied), oldest first. */
  sentMessages(chatId?: number): Message[] {
    const chats = chatId === undefined
      ? [...this.chats.values()]
      : [this.chats.get(chatId)].filter((c) => c);
    return chats.flatMap((c) =>
      [...c!.messages.values()].filter((m) => m.from?.id === this.user.id)
    );
  }

  /** Accepted sendMessage calls per chat id (deleted messages still count). */
  messagesSentPerChat(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const r of this.fake.requests) {
      if (r.token !== this.token || r.method.toLowerCase() !== "sendmessage" || r.status !== 200) {
        continue;
      }
      const id = this.findChat(String(r.params.chat_id))?.chat.id;
      if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  }

  /**
   * The most calls of flood-limited methods (sendMessage, editMessageText) this bot made in any
   * sliding window of one second: in one chat when `chatId` is given, else across all chats.
   * Counts attempts, rejected ones included, unless `acceptedOnly`.
   */
  maxRate(
    { chatId, acceptedOnly = false, methods }: {
      chatId?: number;
      acceptedOnly?: boolean;
      methods?: string[];
    } = {},
  ): number {
    const wanted = new Set((methods ?? [...FLOOD_METHODS]).map((m) => m.toLowerCase()));
    const times = this.fake.requests.filter((r) =>
      r.token === this.token && wanted.has(r.method.toLowerCase()) &&
      (!acceptedOnly || r.status === 200) &&
      (chatId === undefined || this.findChat(String(r.params.chat_id))?.chat.id === chatId)
    ).map((r) => r.at);
    return busiestWindow(times);
  }

  nextUpdateId(): number {
    return this.#nextUpdateId++;
  }

  /** getUpdates' offset: updates below it are confirmed and forgotten; negative keeps the last -offset. */
  confirmUpdates(offset: number): void {
    if (offset < 0) {
      this.queue.splice(0, Math.max(0, this.queue.length + offset));
      return;
    }
    while (this.queue.length > 0 && this.queue[0]!.update_id < offset) this.queue.shift();
  }

  allows(update: Update): boolean {
    const kind = Object.keys(update).find((k) => k !== "update_id") ?? "";
    if (this.allowedUpdates && this.allowedUpdates.length > 0) {
      return this.allowedUpdates.includes(kind);
    }
    return !NOT_DEFAULT_UPDATES.has(kind);
  }

  /** Builders for the updates Telegram would send this bot. */
  readonly updates = {
    /** A text message from `from` in its private chat (or in `chatId`); `/commands` get their entity. */
    text: (from: User, text: string, opts: { chatId?: number; replyTo?: number } = {}): Update => {
      const chat = opts.chatId === undefined ? this.privateChat(from) : this.#chat(opts.chatId);
      const command = /^\/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?/.exec(text);
      const replyTo = opts.replyTo === undefined ? undefined : chat.messages.get(opts.replyTo);
      const message = {
        message_id: chat.nextMessageId++,
        from,
        chat: chat.chat,
        date: this.#date(),
        text,
        ...(command
          ? { entities: [{ type: "bot_command", offset: 0, length: command[0].length }] }
          : {}),
        ...(replyTo ? { reply_to_message: replyTo } : {}),
      } as Message;
      chat.messages.set(message.message_id, message);
      return { update_id: this.nextUpdateId(), message } as Update;
    },
    /** `/start` as sent by the Start button of a `t.me/<bot>?start=<payload>` link. */
    start: (from: User, payload?: string): Update =>
      this.updates.text(from, payload ? `/start ${payload}` : "/start"),
    /** The user edited one of their messages. */
    editedMessage: (chatId: number, messageId: number, text: string): Update => {
      const chat = this.#chat(chatId);
      const original = chat.messages.get(messageId);
      if (!original || !("text" in original)) {
        throw new Error(`fake telegram: no text message ${messageId} in chat ${chatId}`);
      }
      const edited = { ...original, text, edit_date: this.#date() } as Message;
      chat.messages.set(messageId, edited);
      return { update_id: this.nextUpdateId(), edited_message: edited } as Update;
    },
    /** The user pressed an inline button with `data` under one of the bot's messages. */
    callbackQuery: (from: User, message: Message, data: string): Update => {
      const query = {
        id: String(BigInt(from.id) * 1_000_000n + BigInt(this.callbackQueries.size + 1)),
        from,
        message,
        chat_instance: String(-Math.abs(message.chat.id * 31 + this.user.id)),
        data,
      };
      this.callbackQueries.set(query.id, { query });
      return { update_id: this.nextUpdateId(), callback_query: query };
    },
    /** The user blocked (`kicked`) or unblocked/started (`member`) the bot; applied when delivered. */
    myChatMember: (user: User, status: "kicked" | "member"): Update => {
      const chat = this.privateChat(user);
      const date = this.#date();
      const bot = this.sender;
      const oldMember = status === "kicked"
        ? { status: "member" as const, user: bot }
        : { status: "kicked" as const, user: bot, until_date: 0 };
      const newMember = status === "kicked"
        ? { status: "kicked" as const, user: bot, until_date: 0 }
        : { status: "member" as const, user: bot };
      return {
        update_id: this.nextUpdateId(),
        my_chat_member: {
          chat: chat.chat,
          from: user,
          date,
          old_chat_member: oldMember,
          new_chat_member: newMember,
        },
      } as Update;
    },
  };

  #chat(chatId: number): FakeChat {
    const chat = this.chats.get(chatId);
    if (!chat) throw new Error(`fake telegram: bot ${this.user.username} has no chat ${chatId}`);
    return chat;
  }

  #date(): number {
    return Math.floor(this.fake.now() / 1000);
  }
}

/** The running fake. */
export interface FakeTelegram extends AsyncDisposable {
  /** The apiRoot for grammy: `http://127.0.0.1:<port>`. */
  url: string;
  /** Bots by token. */
  bots: Map<string, FakeBot>;
  /** Every call, in arrival order. */
  requests: TelegramRequest[];
  now: Clock;
  /** The first bot (the default one unless `bots` was given). */
  bot: FakeBot;
  /** Adds a bot; its token must look like `<digits>:<secret>`. */
  addBot(init: FakeBotInit): FakeBot;
  /** A Telegram user who can talk to the bots. */
  addUser(init?: Partial<Omit<User, "is_bot">>): User;
  /** The next `count` calls of `method` (or `"*"`, any method) answer with `failure`. */
  failNext(method: string, failure: TelegramFailure, count?: number): void;
  /** Sends an update as Telegram would: POST to the bot's webhook, or queue it for getUpdates. */
  deliverUpdate(token: string, update: Update): Promise<Delivery>;
  /** Retries webhook delivery of the bot's queued updates, oldest first, until one fails. */
  redeliver(token: string): Promise<Delivery[]>;
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

const failure = (
  error_code: number,
  description: string,
  parameters?: ApiFailure["parameters"],
): ApiFailure =>
  parameters
    ? { ok: false, error_code, description, parameters }
    : { ok: false, error_code, description };

const BAD_GATEWAY_HTML =
  "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n";

/** Starts the fake on 127.0.0.1 at a random port. */
export function startFakeTelegram(opts: FakeTelegramOptions = {}): FakeTelegram {
  const now = opts.now ?? Date.now;
  const maxTextLength = opts.maxTextLength ?? 4096;
  const limits = opts.floodLimits === false
    ? undefined
    : { ...DEFAULT_FLOOD_LIMITS, ...opts.floodLimits };
  const buckets = limits && {
    privateChat: new TokenBuckets(limits.privateChat, now),
    groupChat: new TokenBuckets(limits.groupChat, now),
    bot: new TokenBuckets(limits.bot, now),
  };
  const failures = new FailureScript<TelegramFailure>();
  const closing = new AbortController();
  let nextUserId = 500_000_001;

  const flood = (bot: FakeBot, chat: FakeChat) => {
    if (!buckets) return;
    const chatBuckets = chat.chat.type === "private" ? buckets.privateChat : buckets.groupChat;
    const chatKey = `${bot.token}/${chat.chat.id}`;
    const chatWait = chatBuckets.take(chatKey);
    const botWait = chatWait === 0 ? buckets.bot.take(bot.token) : 0;
    if (chatWait === 0 && botWait === 0) return;
    if (chatWait === 0) chatBuckets.refund(chatKey);
    const wait = Math.max(chatWait, botWait);
    throw new ApiError(
      failure(429, `Too Many Requests: retry after ${wait}`, { retry_after: wait }),
    );
  };

  // A poll whose client went away waits on until its timeout or the next getUpdates; what it
  // answers stays queued until an offset confirms it, so no update is lost.
  const poll = (ctx: MethodContext, timeoutSeconds: number) =>
    new Promise<"update" | "timeout" | "conflict">((resolve) => {
      const { bot } = ctx;
      const done = (outcome: "update" | "timeout" | "conflict") => {
        clearTimeout(timer);
        closing.signal.removeEventListener("abort", onAbort);
        if (bot.poller === done) bot.poller = undefined;
        resolve(outcome);
      };
      const onAbort = () => done("timeout");
      const timer = setTimeout(() => done("timeout"), timeoutSeconds * 1000);
      closing.signal.addEventListener("abort", onAbort, { once: true });
      bot.poller = done;
    });

  const call = async (
    bot: FakeBot,
    method: string,
    params: Record<string, unknown>,
    scripted: TelegramFailure | undefined,
  ): Promise<ApiResult> => {
    if (scripted?.kind === "flood") {
      return failure(429, `Too Many Requests: retry after ${scripted.retryAfter}`, {
        retry_after: scripted.retryAfter,
      });
    }
    if (scripted?.kind === "internal" || scripted?.kind === "bad_gateway") {
      return failure(500, "Internal Server Error");
    }
    if (scripted?.kind === "error") return failure(scripted.errorCode, scripted.description);
    const impl = METHODS[method.toLowerCase()];
    if (!impl) return failure(404, "Not Found");
    const ctx: MethodContext = {
      bot,
      params,
      now: now(),
      maxTextLength,
      flood: (chat) => flood(bot, chat),
      poll,
    };
    try {
      return await impl(ctx);
    } catch (err) {
      if (err instanceof ApiError) return err.failure;
      throw err;
    }
  };

  const record = (r: TelegramRequest, result: ApiResult) => {
    r.status = result.ok ? 200 : result.error_code;
    if (!result.ok) r.description = result.description;
  };

  const server = serveLoopback(async (req) => {
    const m = /^\/bot([^/]+)\/(?:test\/)?([A-Za-z0-9_]+)\/?$/.exec(new URL(req.url).pathname);
    if (!m) return json(failure(404, "Not Found"), 404);
    const [, token, method] = m as unknown as [string, string, string];
    const params = await readParams(req);
    const r: TelegramRequest = { method, token, params: params ?? {}, at: now(), status: 0 };
    fake.requests.push(r);
    opts.onRequest?.(r);
    const bot = fake.bots.get(token);
    if (!bot) {
      record(r, failure(401, "Unauthorized"));
      return json(failure(401, "Unauthorized"), 401);
    }
    if (params === undefined) {
      const bad = failure(400, "Bad Request: can't parse request body");
      record(r, bad);
      return json(bad, 400);
    }
    const scripted = failures.take(method.toLowerCase());
    if (scripted?.kind === "bad_gateway") {
      // A 502 comes from the proxy in front of the API: HTML, not the JSON envelope.
      r.status = 502;
      r.description = "Bad Gateway";
      return new Response(BAD_GATEWAY_HTML, {
        status: 502,
        headers: { "content-type": "text/html" },
      });
    }
    const result = await call(bot, method, params, scripted);
    record(r, result);
    return json(result, result.ok ? 200 : result.error_code);
  });

  const deliverByWebhook = async (bot: FakeBot, update: Update): Promise<Delivery> => {
    const hook = bot.webhook!;
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (hook.secretToken) headers["x-telegram-bot-api-secret-token"] = hook.secretToken;
    const answer = await postRaw(hook.url, JSON.stringify(update), headers);
    if (answer.status >= 200 && answer.status < 300) {
      await runWebhookReply(bot, answer.body);
      return { via: "webhook", ...answer };
    }
    bot.lastError = {
      at: now(),
      message: answer.status === 0
        ? "Connection refused"
        : `Wrong response from the webhook: ${answer.status} ${statusText(answer.status)}`,
    };
    return { via: "webhook", ...answer };
  };

  // Telegram runs a method call found in a webhook's answer body (grammy's webhook reply).
  const runWebhookReply = async (bot: FakeBot, body: string) => {
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      return;
    }
    if (
      typeof payload !== "object" || payload === null ||
      typeof (payload as { method?: unknown }).method !== "string"
    ) return;
    const { method, ...params } = payload as { method: string } & Record<string, unknown>;
    const r: TelegramRequest = {
      method,
      token: bot.token,
      params,
      at: now(),
      status: 0,
      viaWebhookReply: true,
    };
    fake.requests.push(r);
    opts.onRequest?.(r);
    record(
      r,
      await call(bot, method, params, failures.take(method.toLowerCase())),
    );
  };

  const applyEffects = (bot: FakeBot, update: Update) => {
    const member = update.my_chat_member;
    if (member && member.new_chat_member.user.id === bot.user.id) {
      const chat = bot.chats.get(member.chat.id);
      if (chat) {
        chat.blocked = member.new_chat_member.status === "kicked" ||
          member.new_chat_member.status === "left";
      }
    }
  };

  /** Posts queued updates to the webhook, oldest first, until one is refused. */
  const drain = async (bot: FakeBot) => {
    const attempts: { update: Update; delivery: Delivery }[] = [];
    while (bot.webhook && bot.queue.length > 0) {
      const update = bot.queue[0]!;
      const delivery = await deliverByWebhook(bot, update);
      attempts.push({ update, delivery });
      if (delivery.via === "webhook" && (delivery.status < 200 || delivery.status >= 300)) break;
      bot.queue.shift();
    }
    return attempts;
  };

  const botFor = (token: string) => {
    const bot = fake.bots.get(token);
    if (!bot) throw new Error(`fake telegram: no bot with token ${token.split(":")[0]}:…`);
    return bot;
  };

  const fake: FakeTelegram = {
    url: server.url,
    bots: new Map(),
    requests: [],
    now,
    bot: undefined as unknown as FakeBot,
    addBot(init) {
      if (!/^\d+:[A-Za-z0-9_-]+$/.test(init.token)) {
        throw new Error("fake telegram: a bot token looks like <digits>:<secret>");
      }
      const bot = new FakeBot(init.token, init, fake);
      fake.bots.set(init.token, bot);
      return bot;
    },
    addUser(init = {}) {
      const id = init.id ?? nextUserId++;
      return {
        id,
        is_bot: false,
        first_name: `User${id % 1000}`,
        language_code: "en",
        ...init,
      } as User;
    },
    failNext(method, f, count = 1) {
      failures.add(method === "*" ? "*" : method.toLowerCase(), count, f);
    },
    async deliverUpdate(token, update) {
      const bot = botFor(token);
      if (!bot.allows(update)) return { via: "filtered" };
      applyEffects(bot, update);
      if (!bot.webhook) {
        bot.queue.push(update);
        bot.poller?.("update");
        return { via: "queue" };
      }
      // Updates go out in order: while older ones wait for a retry, this one waits behind them.
      bot.queue.push(update);
      const attempts = await drain(bot);
      return attempts.find((a) => a.update === update)?.delivery ?? { via: "queue" };
    },
    async redeliver(token) {
      return (await drain(botFor(token))).map((a) => a.delivery);
    },
    async [Symbol.asyncDispose]() {
      closing.abort();
      await server.close();
    },
  };
  for (const init of opts.bots ?? [{ token: DEFAULT_BOT_TOKEN, username: "coachd_test_bot" }]) {
    fake.addBot(init);
  }
  fake.bot = fake.bots.values().next().value!;
  return fake;
}

function statusText(status: number): string {
  const texts: Record<number, string> = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
  };
  return texts[status] ?? "Error";
}
