/**
 * The rules every proactive message obeys, checked when it is about to go out (not when it was
 * planned), all here: the creator's switch, the person's opt-out, a channel to reach them on,
 * no nudge while a conversation is live or with the creator, quiet hours in the person's own
 * time zone, caps per local day and per rolling week, and the channel's rules (WhatsApp:
 * free-form only inside the 24-hour window, otherwise an approved template within the creator's
 * monthly budget, or nothing; Telegram: only people who started the bot).
 *
 * The delivery worker applies the channel's rules again at its end (reachability, the window),
 * so a message this module lets through is never sent in a way the channel forbids.
 */
import type { TurnContext } from "../../../runtime/mod.ts";
import { parseTenantActorId } from "../../ids.ts";
import { conversationAddress } from "../../contracts/conversation.ts";
import type { Channel } from "../../contracts/channel.ts";
import type { Preferences } from "../../contracts/user.ts";
import type { ChannelState } from "../inbound.ts";
import type { ProactiveSettings } from "./settings.ts";
import type { SkipReason } from "./events.ts";
import { isQuiet, nextLocalTime, startOfLocalDay, utcMonth } from "./local_time.ts";
import { proactiveAddress } from "./budget_actor.ts";

/** WhatsApp's customer-service window. */
export const WHATSAPP_WINDOW_MS = 24 * 3600_000;
/**
 * Free-form is chosen only this long before the window closes, so the delivery worker, a moment
 * later, still finds the window open.
 */
export const WINDOW_MARGIN_MS = 15 * 60_000;
/** How long a nudge waits before trying again while the conversation is with the creator. */
export const HANDOFF_RETRY_MS = 3600_000;

export interface GuardInput {
  now: number;
  settings: ProactiveSettings;
  preferences: Preferences;
  channels: ChannelState;
  /** When the nudges of the last days went out. */
  sent: readonly { at: number }[];
}

export type GuardVerdict =
  | { ok: true; identityId: string; channel: Channel; kind: "text" | "template" }
  | { ok: false; reason: SkipReason; retryAt?: number };

/** The person's time zone: their own, else the creator's default. */
export const zoneOf = (i: { preferences: Preferences; settings: ProactiveSettings }) =>
  i.preferences.timeZone ?? i.settings.defaultTimeZone;

/** The identity a nudge goes to: on the chosen channel, else the most recently active one. */
export function nudgeIdentity(
  channels: ChannelState,
  preferred: Channel | undefined,
): { id: string; channel: Channel; lastInboundAt: number } | undefined {
  const all = Object.entries(channels.identities)
    .map(([id, v]) => ({ id, channel: v.channel, lastInboundAt: v.lastInboundAt }))
    .sort((a, b) => b.lastInboundAt - a.lastInboundAt);
  return all.find((i) => i.channel === preferred) ?? all[0];
}

/** The checks that need nothing but the actor's state (pure). */
export function checkGuards(i: GuardInput): GuardVerdict {
  const { now, settings, preferences, channels } = i;
  if (!settings.enabled) return { ok: false, reason: "disabled" };
  if (!preferences.proactive || channels.optedOut) return { ok: false, reason: "opted_out" };
  const to = nudgeIdentity(channels, preferences.nudgeChannel);
  if (!to) return { ok: false, reason: "no_channel" };
  const liveMs = settings.liveMinutes * 60_000;
  const last = channels.lastInboundAt;
  if (channels.pending || (last !== null && now - last < liveMs)) {
    return { ok: false, reason: "live_conversation", retryAt: (last ?? now) + liveMs };
  }
  const zone = zoneOf(i);
  if (isQuiet(now, zone, preferences.quietHours)) {
    return {
      ok: false,
      reason: "quiet_hours",
      retryAt: nextLocalTime(now, zone, preferences.quietHours.end),
    };
  }
  const dayStart = startOfLocalDay(now, zone);
  if (i.sent.filter((s) => s.at >= dayStart && s.at <= now).length >= settings.dailyCap) {
    return { ok: false, reason: "cap_daily" };
  }
  const weekStart = now - 7 * 24 * 3600_000;
  if (i.sent.filter((s) => s.at > weekStart && s.at <= now).length >= settings.weeklyCap) {
    return { ok: false, reason: "cap_weekly" };
  }
  if (to.channel === "telegram" && !to.lastInboundAt) {
    return { ok: false, reason: "telegram_not_started" };
  }
  if (to.channel === "whatsapp") {
    const inWindow = now - to.lastInboundAt < WHATSAPP_WINDOW_MS - WINDOW_MARGIN_MS;
    if (inWindow) return { ok: true, identityId: to.id, channel: to.channel, kind: "text" };
    if (!settings.whatsappTemplates) return { ok: false, reason: "whatsapp_outside_window" };
    return { ok: true, identityId: to.id, channel: to.channel, kind: "template" };
  }
  return { ok: true, identityId: to.id, channel: to.channel, kind: "text" };
}

type Ctx = TurnContext<unknown>;

/**
 * Every guard: the pure checks, then whether a conversation is with the creator (asked of the
 * person's conversations), then, for a template, a reservation in the creator's monthly budget
 * (taken last, so a nudge stopped by another rule costs nothing).
 */
export async function guardNudge(ctx: Ctx, i: GuardInput): Promise<GuardVerdict> {
  const v = checkGuards(i);
  if (!v.ok) return v;
  const { creatorId } = parseTenantActorId(ctx.self.id);
  for (const conversationId of new Set(Object.values(i.channels.conversations))) {
    const view = await ctx.ask(conversationAddress(creatorId, conversationId), "get", null, {
      timeoutMs: 10_000,
    });
    if (view.handoff) {
      return { ok: false, reason: "handoff", retryAt: i.now + HANDOFF_RETRY_MS };
    }
  }
  if (v.kind === "template") {
    const r = await ctx.ask(proactiveAddress(creatorId), "prepare", {
      templateMonth: utcMonth(i.now),
    });
    if (!r.templateGranted) return { ok: false, reason: "template_cap" };
  }
  return v;
}

export interface ProgramStepInput {
  now: number;
  /** The creator's settings as last fetched (defaults before any). */
  settings: ProactiveSettings;
  preferences: Preferences;
  channels: ChannelState;
}

/**
 * What a program's message obeys when it is about to go out. The person chose the program's
 * pace by enrolling, so caps and the live-conversation rule (meant for nudges) do not apply; the
 * opt-out does, and so do quiet hours in the person's zone, unless the person is writing right
 * now (a step answering them at 23:00 is not an interruption). The channel's rules are the
 * delivery worker's, as for every message.
 */
export function checkProgramStep(i: ProgramStepInput): GuardVerdict | { ok: true } {
  const { now, settings, preferences, channels } = i;
  if (!preferences.proactive || channels.optedOut) return { ok: false, reason: "opted_out" };
  const last = channels.lastInboundAt;
  const live = channels.pending !== null ||
    (last !== null && now - last < settings.liveMinutes * 60_000);
  const zone = zoneOf(i);
  if (!live && isQuiet(now, zone, preferences.quietHours)) {
    return {
      ok: false,
      reason: "quiet_hours",
      retryAt: nextLocalTime(now, zone, preferences.quietHours.end),
    };
  }
  return { ok: true };
}
