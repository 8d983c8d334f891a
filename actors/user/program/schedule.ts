/**
 * When a program's wait ends, in the person's own time zone: "after 24 hours", "at 09:00", "after
 * 48 hours, then at 09:00", "next Monday 09:00". Local times are wall-clock times, so they stay
 * right across a daylight-saving change (luxon does the zone arithmetic).
 */
import { DateTime } from "luxon";
import { WEEKDAYS } from "../../contracts/program.ts";

export interface WaitSpec {
  hours?: number;
  at?: string;
  weekday?: typeof WEEKDAYS[number];
}

/** Epoch ms at which a wait started at `now` ends, for a person in `timeZone`. */
export function waitEnds(spec: WaitSpec, now: number, timeZone: string): number {
  const after = now + Math.round((spec.hours ?? 0) * 3_600_000);
  if (!spec.at) return after;
  const [hour, minute] = spec.at.split(":").map(Number) as [number, number];
  const local = DateTime.fromMillis(after, { zone: timeZone });
  let candidate = local.set({ hour, minute, second: 0, millisecond: 0 });
  if (spec.weekday) {
    // luxon's weekday: 1 = Monday … 7 = Sunday.
    const wanted = WEEKDAYS.indexOf(spec.weekday) + 1;
    candidate = candidate.plus({ days: (wanted - candidate.weekday + 7) % 7 });
    if (candidate.toMillis() <= after) candidate = candidate.plus({ weeks: 1 });
  } else if (candidate.toMillis() <= after) {
    candidate = candidate.plus({ days: 1 });
  }
  // A local time skipped by a spring-forward change is moved past the gap by luxon.
  return candidate.toMillis();
}

/** The person's local date (`YYYY-MM-DD`) and hour at `at`. */
export function localDayAndHour(at: number, timeZone: string): { day: string; hour: number } {
  const d = DateTime.fromMillis(at, { zone: timeZone });
  return { day: d.toISODate()!, hour: d.hour };
}

/** Whole local days from `fromDay` to `toDay` (both `YYYY-MM-DD`). */
export function daysBetween(fromDay: string, toDay: string): number {
  const a = DateTime.fromISO(fromDay, { zone: "UTC" });
  const b = DateTime.fromISO(toDay, { zone: "UTC" });
  return Math.round(b.diff(a, "days").days);
}

/** The person's time zone: the one they set or that was learned, else UTC. */
export function timeZoneOf(s: { preferences?: { timeZone?: string } }): string {
  return s.preferences?.timeZone ?? "UTC";
}
