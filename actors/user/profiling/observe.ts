/**
 * What every message the person sends teaches the UserActor: counters and streaks (badges,
 * achievements), the hours they are active at, the language they write in, their mood. The
 * learned profile goes to the creators' read model (`user.insights`) when it changed in a way
 * that matters, and once a day while the person is away (their risk grows).
 */
import type { TurnContext } from "../../../runtime/mod.ts";
import { parseTenantActorId } from "../../ids.ts";
import type { Inbound } from "../../contracts/inbound.ts";
import type { Profile } from "../../contracts/user.ts";
import type { ChannelState } from "../inbound.ts";
import type { StoredPreferences } from "../preferences.ts";
import { noteAchievements, requestBadgeCheck } from "../badges/awards.ts";
import { type Gamification, metricsOf, noteMessage } from "../badges/progress.ts";
import { timeZoneOf } from "../program/schedule.ts";
import type { ProgramsState } from "../program/state.ts";
import { progressOf } from "../program/engine.ts";
import { detectLanguage } from "./language.ts";
import { activeHours, noteActiveHour, usualActiveHour } from "./rhythm.ts";
import { dropOffRisk } from "./risk.ts";
import { noteSentiment, sentimentOf, sentimentTrend } from "./sentiment.ts";
import type { Profiling } from "./state.ts";

export const INSIGHTS_SUBJECT = "user.insights";
const RECENT_IDS = 20;
const DAY = 86_400_000;
/** The profile is reported at most this often while nothing important changes. */
const REPORT_EVERY_MS = 10 * 60_000;
/** Daily reports stop after this long without a message. */
const REFRESH_DAYS = 60;

interface S {
  profile: Profile;
  gamification: Gamification;
  profiling: Profiling;
  programRuns: ProgramsState;
  channels: ChannelState;
  preferences?: StoredPreferences;
}
type Ctx = TurnContext<S>;

export function observeInbound(ctx: Ctx, m: Inbound): void {
  const s = ctx.state;
  const p = s.profiling;
  if (p.recentIds.includes(m.externalMessageId)) return;
  p.recentIds = [...p.recentIds, m.externalMessageId].slice(-RECENT_IDS);
  const now = ctx.now();
  const zone = timeZoneOf(s);
  const change = noteMessage(s.gamification, now, zone);
  noteAchievements(ctx, change);
  noteActiveHour(p, now, zone);
  const c = m.content;
  const text = c.type === "text" ? c.text : c.type === "attachment" ? c.caption ?? "" : "";
  let languageChanged = false;
  if (text) {
    const lang = detectLanguage(text);
    if (lang && lang === p.languageCandidate && lang !== s.profile.language) {
      s.profile = { ...s.profile, language: lang };
      languageChanged = true;
    }
    if (lang) p.languageCandidate = lang;
    noteSentiment(p.sentiment, sentimentOf(text));
  }
  requestBadgeCheck(ctx);
  ctx.remind("profileRefresh", { after: DAY });
  const risk = dropOffRisk(s, now);
  if (
    languageChanged || risk.level !== p.reportedLevel || p.reportedAt === null ||
    now - p.reportedAt >= REPORT_EVERY_MS
  ) report(ctx);
}

/** The daily report while the person is away. */
export function refresh(ctx: Ctx): void {
  report(ctx);
  const last = ctx.state.gamification.lastMessageAt;
  if (last !== null && ctx.now() - last < REFRESH_DAYS * DAY) {
    ctx.remind("profileRefresh", { after: DAY });
  }
}

function report(ctx: Ctx): void {
  const { creatorId, localId: endUserId } = parseTenantActorId(ctx.self.id);
  const insights = insightsOf(ctx.state, ctx.now());
  ctx.state.profiling.reportedAt = ctx.now();
  ctx.state.profiling.reportedLevel = insights.risk.level;
  ctx.emit(INSIGHTS_SUBJECT, { creatorId, endUserId, at: ctx.now(), insights });
}

/** The learned profile, as creators read it. */
export function insightsOf(s: S, now: number) {
  const zone = timeZoneOf(s);
  const g = s.gamification;
  return {
    language: s.profile.language,
    goals: s.profile.goals,
    topics: s.profile.topics,
    answers: s.profile.preferences,
    timeZone: zone,
    sentiment: {
      average: Math.round(s.profiling.sentiment.average * 1000) / 1000,
      trend: sentimentTrend(s.profiling.sentiment.recent),
      samples: s.profiling.sentiment.samples,
    },
    rhythm: {
      usualHour: usualActiveHour(s),
      activeHours: activeHours(s),
      hours: s.profiling.hours.map((n) => Math.round(n * 100) / 100),
    },
    risk: dropOffRisk(s, now),
    metrics: metricsOf(g, now, zone),
    lastActiveAt: g.lastMessageAt,
    badges: g.awarded.length,
    programs: Object.values(s.programRuns.enrollments).map((e) => {
      const p = progressOf(e);
      return { programId: p.programId, name: p.name, status: p.status, step: p.currentStep };
    }),
  };
}
export type Insights = ReturnType<typeof insightsOf>;
