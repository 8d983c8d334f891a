/**
 * What the UserActor does with a message a person sent on a channel: it remembers the identity
 * they used, answers commands (`/start`, `/stop`, `/help`) and what it cannot read with a short
 * notice, and gathers a burst of messages for one debounce window so the conversation answers
 * them once, seeing all of them.
 */
import { z } from "zod";
import type { TurnContext } from "../../runtime/mod.ts";
import { parseTenantActorId, turnUuid } from "../ids.ts";
import { Channel } from "../contracts/channel.ts";
import { conversationAddress } from "../contracts/conversation.ts";
import { DELIVERY_SUBJECT, type DeliveryRequest } from "../contracts/delivery.ts";
import type { Inbound } from "../contracts/inbound.ts";

/** The channel side of a UserActor's state. */
export const ChannelState = z.object({
  /** Identities the person wrote from, by id. */
  identities: z.record(
    z.string(),
    z.object({ channel: Channel, connectionId: z.string(), lastInboundAt: z.number() }),
  ),
  /** The current conversation on each channel. */
  conversations: z.record(z.string(), z.string().uuid()),
  /** Messages waiting for the debounce window to close. */
  pending: z.object({
    identityId: z.string(),
    channel: Channel,
    texts: z.array(z.string()),
    firstId: z.string(),
    firstAt: z.number(),
  }).nullable(),
  /** The person said STOP: no proactive messages until they say START. */
  optedOut: z.boolean(),
  lastInboundAt: z.number().nullable(),
});
export type ChannelState = z.infer<typeof ChannelState>;

export const emptyChannelState = (): ChannelState => ({
  identities: {},
  conversations: {},
  pending: null,
  optedOut: false,
  lastInboundAt: null,
});

export interface InboundOptions {
  /** Messages within this many ms of the last get one answer (0: answer each at once). */
  debounceMs: number;
}

/**
 * The command the intake puts in place of a link code it redeemed (args `linked`) or could not
 * (`invalid`); no provider can send it, a hyphen being outside every channel's command syntax.
 */
export const LINK_COMMAND = "link-code";

/** A burst is answered at the latest this many windows after its first message. */
const MAX_WINDOWS = 3;

export const NOTICES = {
  welcome:
    "Hi! I'm your coach. Ask me anything about the program, or send /help to see what I can do.",
  help:
    "Write me a question in your own words and I'll answer from your coach's material. Send /stop to stop reminders, /start to get them again.",
  stopped: "You won't get reminders from me anymore. Send START whenever you want them back.",
  restarted: "Welcome back! Reminders are on again.",
  textOnly: "I can read text only for now. Could you type your question?",
  linked: "Done! This chat is now linked with your other one: same coach, same history.",
  linkInvalid:
    "That link code is unknown, used or expired. Ask for a new one in the app and send it within 10 minutes.",
} as const;

type Ctx = TurnContext<{ channels: ChannelState }>;

/** Remembers the identity the person wrote from, as the one they were last active on. */
export function rememberIdentity(ctx: Ctx, m: Inbound): void {
  const s = ctx.state.channels;
  const now = ctx.now();
  s.identities[m.identityId] = {
    channel: m.channel,
    connectionId: m.connectionId,
    lastInboundAt: now,
  };
  s.lastInboundAt = now;
}

export function onInbound(ctx: Ctx, m: Inbound, o: InboundOptions): void {
  const s = ctx.state.channels;
  rememberIdentity(ctx, m);
  const c = m.content;
  if (c.type === "command" && c.command === LINK_COMMAND) {
    return notice(ctx, m, c.args === "linked" ? NOTICES.linked : NOTICES.linkInvalid);
  }
  const word = c.type === "command"
    ? c.command
    : c.type === "text" && /^\s*(stop|start|unsubscribe)\s*$/i.test(c.text)
    ? c.text.trim().toLowerCase()
    : undefined;
  if (word === "stop" || word === "unsubscribe") {
    s.optedOut = true;
    return notice(ctx, m, NOTICES.stopped);
  }
  if (word === "start") {
    const wasOut = s.optedOut;
    s.optedOut = false;
    return notice(ctx, m, wasOut ? NOTICES.restarted : NOTICES.welcome);
  }
  if (word === "help") return notice(ctx, m, NOTICES.help);
  if (c.type === "attachment") {
    if (!c.caption) return notice(ctx, m, NOTICES.textOnly);
    return gather(ctx, m, c.caption, o);
  }
  const text = c.type === "text"
    ? c.text
    : c.type === "button"
    ? (c.text || c.payload)
    : `/${c.command} ${c.args}`.trim();
  gather(ctx, m, text, o);
}

function gather(ctx: Ctx, m: Inbound, text: string, o: InboundOptions) {
  const s = ctx.state.channels;
  const now = ctx.now();
  // A message on another identity closes the burst gathered on the first one.
  if (s.pending && s.pending.identityId !== m.identityId) flush(ctx);
  s.pending ??= {
    identityId: m.identityId,
    channel: m.channel,
    texts: [],
    firstId: m.externalMessageId,
    firstAt: now,
  };
  s.pending.texts.push(text);
  const due = Math.min(now + o.debounceMs, s.pending.firstAt + MAX_WINDOWS * o.debounceMs);
  if (o.debounceMs <= 0 || due <= now) return flush(ctx);
  ctx.remind("flushInbound", { at: due });
}

/** Hands the gathered messages to the conversation as one. */
export function flush(ctx: Ctx): void {
  const s = ctx.state.channels;
  const p = s.pending;
  if (!p) return;
  s.pending = null;
  ctx.cancelReminder("flushInbound");
  const { creatorId, localId: endUserId } = parseTenantActorId(ctx.self.id);
  const conversationId = s.conversations[p.channel] ??= turnUuid(ctx, `conversation:${p.channel}`);
  ctx.tell(conversationAddress(creatorId, conversationId), "message", {
    userId: endUserId,
    channel: p.channel,
    text: p.texts.join("\n").slice(0, 4000),
    messageId: `${p.firstId}+${p.texts.length}`.slice(0, 200),
    identityId: p.identityId,
    sentAt: p.firstAt,
  });
}

function notice(ctx: Ctx, m: Inbound, text: string): void {
  const { creatorId, localId: endUserId } = parseTenantActorId(ctx.self.id);
  const request: DeliveryRequest = {
    id: turnUuid(ctx, "delivery:notice"),
    creatorId,
    endUserId,
    identityId: m.identityId,
    purpose: "notice",
    text,
  };
  ctx.emit(DELIVERY_SUBJECT, request);
}
