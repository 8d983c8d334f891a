/**
 * Badges and achievements, awarded once. The actor asks for its badges to be judged whenever a
 * metric moves (`badge.check`, with the metrics and what it already has); the badge worker
 * (channels/core/coach_requests.ts) evaluates the creator's criteria and tells back
 * `awardBadge` for each newly met one. The actor keeps what it awarded, so a badge told twice
 * (a redelivered event, a failover) is announced once; the `badge.awarded` event becomes the
 * unique `user_badges` row.
 */
import type { TurnContext } from "../../../runtime/mod.ts";
import { parseTenantActorId } from "../../ids.ts";
import type { ChannelState } from "../inbound.ts";
import type { StoredPreferences } from "../preferences.ts";
import { sendToUser } from "../outbound.ts";
import { timeZoneOf } from "../program/schedule.ts";
import { type ActivityChange, type Gamification, metricsOf } from "./progress.ts";

export const BADGE_EVENTS = {
  check: "badge.check",
  awarded: "badge.awarded",
  achievement: "achievement.reached",
} as const;

/** A break this long (in local days) makes the next active day a comeback. */
export const COMEBACK_DAYS = 7;

interface S {
  gamification: Gamification;
  channels: ChannelState;
  preferences?: StoredPreferences;
}
type Ctx = TurnContext<S>;

/** Asks for the badges to be judged on the current metrics, or for one badge (a flow step). */
export function requestBadgeCheck(ctx: Ctx, o: { award?: string } = {}): void {
  const { creatorId, localId: endUserId } = parseTenantActorId(ctx.self.id);
  const g = ctx.state.gamification;
  if (o.award && g.awarded.includes(o.award)) return;
  ctx.emit(BADGE_EVENTS.check, {
    creatorId,
    endUserId,
    metrics: metricsOf(g, ctx.now(), timeZoneOf(ctx.state)),
    awarded: g.awarded,
    ...(o.award ? { award: o.award } : {}),
  });
}

/** Awards a badge unless it was already: recorded, announced in the creator's words. */
export function awardBadge(
  ctx: Ctx,
  m: { badgeId: string; name: string; message?: string | null },
): boolean {
  const g = ctx.state.gamification;
  if (g.awarded.includes(m.badgeId)) return false;
  g.awarded.push(m.badgeId);
  const { creatorId, localId: endUserId } = parseTenantActorId(ctx.self.id);
  ctx.emit(BADGE_EVENTS.awarded, { creatorId, endUserId, badgeId: m.badgeId, at: ctx.now() });
  sendToUser(ctx, {
    purpose: "badge",
    key: `badge:${m.badgeId}`,
    text: m.message?.trim() || `You earned a badge: ${m.name}!`,
  });
  return true;
}

/** Achievements a new active day may bring: the first week, a comeback after a break. */
export function noteAchievements(ctx: Ctx, change: ActivityChange): void {
  const g = ctx.state.gamification;
  if (!change.newDay) return;
  if (change.gapDays >= COMEBACK_DAYS) {
    achieve(ctx, `comeback:${change.today}`, "comeback", `Back after ${change.gapDays} days`, {
      gapDays: change.gapDays,
    });
  }
  const firstDay = g.firstDay;
  if (firstDay && !g.achievements.includes("first_week") && g.daysActive >= 2) {
    const since = Date.parse(`${change.today}T00:00:00Z`) - Date.parse(`${firstDay}T00:00:00Z`);
    if (since >= 7 * 86_400_000) {
      achieve(ctx, "first_week", "first_week", "One week with your coach", {
        daysActive: g.daysActive,
      });
    }
  }
}

function achieve(
  ctx: Ctx,
  key: string,
  kind: string,
  title: string,
  data: Record<string, unknown>,
): void {
  const g = ctx.state.gamification;
  if (g.achievements.includes(key)) return;
  g.achievements = [...g.achievements, key].slice(-100);
  const { creatorId, localId: endUserId } = parseTenantActorId(ctx.self.id);
  ctx.emit(BADGE_EVENTS.achievement, {
    creatorId,
    endUserId,
    key,
    kind,
    title,
    data,
    at: ctx.now(),
  });
  sendToUser(ctx, { purpose: "badge", key: `achievement:${key}`, text: `🎉 ${title}!` });
}
