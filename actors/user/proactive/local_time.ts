/**
 * Local time of a person, through luxon's IANA zone support (daylight-saving changes included):
 * the proactive engine and its guards never add hours by hand.
 */
import { DateTime } from "luxon";

export interface QuietHours {
  start: string;
  end: string;
}

const minutesOf = (hhmm: string) => {
  const [h, m] = hhmm.split(":").map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
};

export const local = (at: number, zone: string) => DateTime.fromMillis(at, { zone });

/** The local calendar date, `YYYY-MM-DD`. */
export const localDate = (at: number, zone: string): string => local(at, zone).toISODate()!;

export const localHour = (at: number, zone: string): number => local(at, zone).hour;

/** Start of the local day that contains `at` (epoch ms). */
export const startOfLocalDay = (at: number, zone: string): number =>
  local(at, zone).startOf("day").toMillis();

/** Whether a local minute of the day falls in the quiet window (which may span midnight). */
export function minuteIsQuiet(minute: number, q: QuietHours): boolean {
  const s = minutesOf(q.start);
  const e = minutesOf(q.end);
  if (s === e) return false;
  return s < e ? minute >= s && minute < e : minute >= s || minute < e;
}

export function isQuiet(at: number, zone: string, q: QuietHours): boolean {
  const t = local(at, zone);
  return minuteIsQuiet(t.hour * 60 + t.minute, q);
}

/** The first moment after `at` when the local clock shows `hhmm` (today or tomorrow). */
export function nextLocalTime(at: number, zone: string, hhmm: string): number {
  const m = minutesOf(hhmm);
  const t = local(at, zone);
  let c = t.set({ hour: Math.floor(m / 60), minute: m % 60, second: 0, millisecond: 0 });
  if (c.toMillis() <= at) c = c.plus({ days: 1 });
  return c.toMillis();
}

/** `hour`:00 local on the local date of `at` plus `days` calendar days. */
export function atLocalHour(at: number, zone: string, days: number, hour: number): number {
  return local(at, zone).startOf("day").plus({ days }).set({ hour, minute: 0 }).toMillis();
}

/** The local calendar date `days` after `date` (`YYYY-MM-DD`). */
export function plusDays(date: string, days: number): string {
  return DateTime.fromISO(date, { zone: "UTC" }).plus({ days }).toISODate()!;
}

/** Calendar month of `at` in UTC, `YYYY-MM`: the period of a creator's template budget. */
export const utcMonth = (at: number): string =>
  DateTime.fromMillis(at, { zone: "UTC" }).toFormat("yyyy-MM");
