/**
 * The proactive engine of the UserActor, driven by its durable reminders: it learns the person's
 * rhythm and streak from what they send, plans the next check of each trigger (inactivity with a
 * re-engagement sequence of growing gaps, streak at risk before their day ends, a milestone
 * reached, a program step due), and when a check falls due applies every guard (./guards.ts)
 * before it sends. Each attempt is recorded as an event: sent, or skipped with the reason.
 */
import type { TurnContext } from "../../../runtime/mod.ts";
import { parseTenantActorId, turnUuid } from "../../ids.ts";
import type { ProactiveCheck, Profile, ProgramStepDue } from "../../contracts/user.ts";
import type { ChannelState } from "../inbound.ts";
import { preferencesOf, type StoredPreferences } from "../preferences.ts";
import { proactiveAddress } from "./budget_actor.ts";
import {
  NUDGE_EVENTS,
  type NudgeOutcome,
  type NudgeSent,
  type NudgeSkipped,
  type SkipReason,
} from "./events.ts";
import { guardNudge, zoneOf } from "./guards.ts";
import {
  atLocalHour,
  localDate,
  localHour,
  minuteIsQuiet,
  nextLocalTime,
  plusDays,
} from "./local_time.ts";
import { usualHour } from "./rhythm.ts";
import { usualActiveHour } from "../profiling/rhythm.ts";
import type { Profiling } from "../profiling/state.ts";
import { sendToUser } from "../outbound.ts";
import { defaultProactiveSettings, type ProactiveSettings } from "./settings.ts";
import type { ProactiveState } from "./state.ts";
import { nudgeText } from "./texts.ts";

const HOUR = 3600_000;
const DAY = 24 * HOUR;
/** The creator's settings are fetched again after this long. */
export const SETTINGS_TTL_MS = 6 * HOUR;

export const REMINDERS = {
  inactivity: "proactive.inactivity",
  streak: "proactive.streak",
  milestone: "proactive.milestone",
  program: (programId: string) => `proactive.program.${programId}`,
} as const;

interface S {
  profile: Profile;
  profiling: Profiling;
  channels: ChannelState;
  preferences?: StoredPreferences;
  proactive: ProactiveState;
}
type Ctx = TurnContext<S>;

async function settingsOf(ctx: Ctx): Promise<ProactiveSettings> {
  const p = ctx.state.proactive;
  const now = ctx.now();
  if (p.settings && now - p.settings.at < SETTINGS_TTL_MS) return p.settings.value;
  const { creatorId } = parseTenantActorId(ctx.self.id);
  const r = await ctx.ask(proactiveAddress(creatorId), "prepare", {});
  p.settings = { value: r.settings, at: now };
  return r.settings;
}

/**
 * The person's zone and usual hour: the profile's learned hour (./profiling) when it is known
 * and outside their quiet hours, else the best open hour of the same histogram, else the
 * creator's default.
 */
function rhythmOf(ctx: Ctx, settings: ProactiveSettings) {
  const preferences = preferencesOf(ctx.state);
  const zone = zoneOf({ preferences, settings });
  const learned = usualActiveHour(ctx.state);
  const usual = learned !== null && !minuteIsQuiet(learned * 60 + 30, preferences.quietHours)
    ? learned
    : usualHour(ctx.state.profiling.hours, preferences.quietHours, settings.defaultHour);
  return { preferences, zone, usual };
}

/** When the inactivity nudge of `step` is due: N days after the last message, then growing gaps. */
export function inactivityDueAt(
  lastInboundAt: number,
  step: number,
  s: ProactiveSettings,
  zone: string,
  usual: number,
): number {
  const days = s.inactivityDays + s.reengageBaseDays * (2 ** step - 1);
  const at = atLocalHour(lastInboundAt, zone, days, usual);
  // "After N days" means N whole days: a usual hour earlier in the day than the last message
  // moves to the day after.
  return at < lastInboundAt + days * DAY - 12 * HOUR
    ? atLocalHour(lastInboundAt, zone, days + 1, usual)
    : at;
}

function remindCheck(ctx: Ctx, name: string, at: number, check: ProactiveCheck) {
  ctx.remind(name, { at }, { kind: "proactiveCheck", data: check });
}

/**
 * The person wrote: an open nudge's outcome (a reply, or an opt-out) is recorded, their rhythm
 * and streak move on, the inactivity sequence starts over and the next checks are planned.
 */
export function noteActivity(ctx: Ctx, { wasOptedOut }: { wasOptedOut: boolean }) {
  const p = ctx.state.proactive;
  const now = ctx.now();
  const { creatorId, localId: endUserId } = parseTenantActorId(ctx.self.id);
  const optedOutNow = !wasOptedOut && ctx.state.channels.optedOut;
  for (const o of p.open) {
    if (now - o.at > DAY) continue;
    const outcome: NudgeOutcome = {
      nudgeId: o.id,
      creatorId,
      endUserId,
      outcome: optedOutNow ? "opted_out" : "replied",
      at: now,
    };
    ctx.emit(NUDGE_EVENTS.outcome, outcome);
  }
  p.open = [];
  if (ctx.state.channels.optedOut) {
    // Nothing is planned for someone who opted out; START plans again.
    for (const name of [REMINDERS.inactivity, REMINDERS.streak, REMINDERS.milestone]) {
      ctx.cancelReminder(name);
    }
    return;
  }
  // Planning uses the settings last fetched (a check fetches them again); before any, the
  // shortest inactivity period, so the first check comes early enough and plans again.
  const settings = p.settings?.value ?? { ...defaultProactiveSettings(), inactivityDays: 1 };
  const { zone } = rhythmOf(ctx, settings);
  const today = localDate(now, zone);
  if (p.lastActiveDate !== today) {
    p.streak = p.lastActiveDate === plusDays(today, -1) ? p.streak + 1 : 1;
    p.lastActiveDate = today;
    if (settings.milestones.includes(p.streak)) {
      remindCheck(ctx, REMINDERS.milestone, now + settings.liveMinutes * 60_000, {
        trigger: "milestone",
        milestone: p.streak,
      });
    }
  }
  p.step = 0;
  const { usual, preferences } = rhythmOf(ctx, settings);
  remindCheck(ctx, REMINDERS.inactivity, inactivityDueAt(now, 0, settings, zone, usual), {
    trigger: "inactivity",
  });
  if (p.streak >= 2) {
    // Tomorrow, an hour after the person usually writes: not written by then, the streak is at
    // risk, and the day is not over yet (at the latest an hour before the quiet hours begin).
    const quietStart = Number(preferences.quietHours.start.slice(0, 2));
    const latest = (quietStart + 23) % 24;
    const hour = minuteIsQuiet((usual + 1) * 60 + 30, preferences.quietHours) || usual + 1 > 23
      ? latest
      : usual + 1;
    remindCheck(ctx, REMINDERS.streak, atLocalHour(now, zone, 1, hour), {
      trigger: "streak_at_risk",
    });
  } else ctx.cancelReminder(REMINDERS.streak);
}

/** A program step is due: it goes out as soon as the guards allow. */
export async function onProgramStepDue(ctx: Ctx, m: ProgramStepDue) {
  await onProactiveCheck(ctx, { trigger: "program_step", ...m });
}

/** A check fell due: does its trigger still hold, and do the guards let a nudge out now? */
export async function onProactiveCheck(ctx: Ctx, m: ProactiveCheck): Promise<void> {
  const p = ctx.state.proactive;
  const now = ctx.now();
  p.sent = p.sent.filter((s) => now - s.at < 8 * DAY);
  p.open = p.open.filter((o) => now - o.at <= DAY);
  const settings = await settingsOf(ctx);
  const { preferences, zone, usual } = rhythmOf(ctx, settings);
  const name = ctx.state.profile.name;
  let trigger = m.trigger;
  let step: number | undefined;
  let text: string;
  let reminder: string;
  switch (m.trigger) {
    case "inactivity":
    case "reengagement": {
      reminder = REMINDERS.inactivity;
      const last = ctx.state.channels.lastInboundAt;
      if (last === null || p.step > settings.reengageLimit) return;
      const due = inactivityDueAt(last, p.step, settings, zone, usual);
      if (now < due - 60_000) return remindCheck(ctx, reminder, due, m);
      step = p.step;
      trigger = step === 0 ? "inactivity" : "reengagement";
      text = nudgeText(trigger, { name, step });
      break;
    }
    case "streak_at_risk": {
      reminder = REMINDERS.streak;
      const today = localDate(now, zone);
      if (p.streak < 2 || p.lastActiveDate !== plusDays(today, -1)) return;
      text = nudgeText("streak_at_risk", { streak: p.streak });
      break;
    }
    case "milestone":
      reminder = REMINDERS.milestone;
      if (!m.milestone || p.streak < m.milestone) return;
      text = nudgeText("milestone", { streak: m.milestone });
      break;
    case "program_step":
      reminder = REMINDERS.program(m.programId ?? "program");
      if (!m.text) return;
      text = m.text;
      break;
  }
  const { creatorId, localId: endUserId } = parseTenantActorId(ctx.self.id);
  const nudgeId = turnUuid(ctx, "nudge");
  const verdict = await guardNudge(ctx, {
    now,
    settings,
    preferences,
    channels: ctx.state.channels,
    sent: p.sent,
  });
  const base = {
    nudgeId,
    creatorId,
    endUserId,
    trigger,
    at: now,
    ...(step !== undefined ? { step } : {}),
  };
  if (!verdict.ok) {
    let retryAt = verdict.retryAt;
    // A nudge meant for the person's usual hour waits for it, not just for the morning.
    if (
      verdict.reason === "quiet_hours" && m.trigger !== "program_step" && m.trigger !== "milestone"
    ) {
      retryAt = nextLocalTime(now, zone, `${String(usual).padStart(2, "0")}:00`);
    }
    const skipped: NudgeSkipped = {
      ...base,
      reason: verdict.reason,
      ...(retryAt ? { retryAt } : {}),
    };
    ctx.emit(NUDGE_EVENTS.skipped, skipped);
    if (retryAt) return remindCheck(ctx, reminder, retryAt, m);
    if (step !== undefined && continues(verdict.reason)) nextInSequence(ctx, settings, zone, usual);
    return;
  }
  // Out through the actor's one outbound path, on the identity the guards checked.
  const out = sendToUser(ctx, {
    purpose: trigger === "program_step" ? "program" : "nudge",
    key: "nudge",
    text,
    templateVariables: [text],
  });
  if (!out.sent) return;
  const deliveryId = out.deliveryId;
  const sent: NudgeSent = {
    ...base,
    channel: verdict.channel,
    identityId: verdict.identityId,
    kind: verdict.kind,
    deliveryId,
    localHour: localHour(now, zone),
    usualHour: usual,
  };
  ctx.emit(NUDGE_EVENTS.sent, sent);
  p.sent.push({ at: now, trigger });
  p.open.push({ id: nudgeId, at: now });
  if (step !== undefined) nextInSequence(ctx, settings, zone, usual);
}

/** Skips that end the sequence: the person or the creator does not want it, or no way to reach. */
const continues = (r: SkipReason) => !["opted_out", "disabled", "no_channel"].includes(r);

function nextInSequence(ctx: Ctx, settings: ProactiveSettings, zone: string, usual: number) {
  const p = ctx.state.proactive;
  p.step++;
  const last = ctx.state.channels.lastInboundAt;
  if (last === null || p.step > settings.reengageLimit) return;
  remindCheck(ctx, REMINDERS.inactivity, inactivityDueAt(last, p.step, settings, zone, usual), {
    trigger: "reengagement",
  });
}
