/**
 * The counters badges are judged on (the criteria DSL's metrics), kept by the UserActor from
 * what the person does: messages and sessions, days active and the streak of consecutive days
 * (in the person's own time zone), checkpoints, completed programs, answered questions. Also the
 * badges already awarded and the achievements reached, so each is given once.
 */
import { z } from "zod";
import type { Metric } from "./criteria.ts";
import { daysBetween, localDayAndHour } from "../program/schedule.ts";

/** A new session starts after this long without a message. */
export const SESSION_GAP_MS = 30 * 60_000;

export const Gamification = z.object({
  messagesSent: z.number().int(),
  sessions: z.number().int(),
  daysActive: z.number().int(),
  streakDays: z.number().int(),
  longestStreak: z.number().int(),
  checkpointsReached: z.number().int(),
  programsCompleted: z.number().int(),
  questionsAnswered: z.number().int(),
  lastMessageAt: z.number().nullable(),
  /** Local date (`YYYY-MM-DD`) of the first and the last active day. */
  firstDay: z.string().nullable(),
  lastDay: z.string().nullable(),
  /** Badge ids awarded, in order. */
  awarded: z.array(z.string()),
  /** Keys of achievements reached (`first_week`, `comeback:<day>`). */
  achievements: z.array(z.string()),
});
export type Gamification = z.infer<typeof Gamification>;

export const emptyGamification = (): Gamification => ({
  messagesSent: 0,
  sessions: 0,
  daysActive: 0,
  streakDays: 0,
  longestStreak: 0,
  checkpointsReached: 0,
  programsCompleted: 0,
  questionsAnswered: 0,
  lastMessageAt: null,
  firstDay: null,
  lastDay: null,
  awarded: [],
  achievements: [],
});

/** What one message changed about the person's days, for achievements. */
export interface ActivityChange {
  newDay: boolean;
  /** Local days between the previous active day and today (0 on the first day). */
  gapDays: number;
  today: string;
}

/** Counts a message the person sent at `at`, in `timeZone`. */
export function noteMessage(g: Gamification, at: number, timeZone: string): ActivityChange {
  g.messagesSent++;
  if (g.lastMessageAt === null || at - g.lastMessageAt >= SESSION_GAP_MS) g.sessions++;
  g.lastMessageAt = at;
  const { day } = localDayAndHour(at, timeZone);
  const previous = g.lastDay;
  if (previous === day) return { newDay: false, gapDays: 0, today: day };
  const gap = previous ? daysBetween(previous, day) : 0;
  // A message stamped before the last active day (a time zone moved west) starts no new day.
  if (previous && gap < 0) return { newDay: false, gapDays: 0, today: day };
  g.daysActive++;
  g.streakDays = gap === 1 ? g.streakDays + 1 : 1;
  g.longestStreak = Math.max(g.longestStreak, g.streakDays);
  g.firstDay ??= day;
  g.lastDay = day;
  return { newDay: true, gapDays: gap, today: day };
}

/**
 * The streak as of `at`: it holds through today and yesterday (today may still come), and is
 * broken once a whole local day passed without activity.
 */
export function currentStreak(g: Gamification, at: number, timeZone: string): number {
  if (!g.lastDay) return 0;
  const { day } = localDayAndHour(at, timeZone);
  return daysBetween(g.lastDay, day) <= 1 ? g.streakDays : 0;
}

/** The metrics the criteria DSL reads. */
export function metricsOf(g: Gamification, at: number, timeZone: string): Record<Metric, number> {
  return {
    messages_sent: g.messagesSent,
    sessions: g.sessions,
    days_active: g.daysActive,
    streak_days: currentStreak(g, at, timeZone),
    checkpoints_reached: g.checkpointsReached,
    programs_completed: g.programsCompleted,
    questions_answered: g.questionsAnswered,
  };
}
