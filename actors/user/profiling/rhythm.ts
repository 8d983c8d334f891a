/**
 * When a person engages: a histogram of their messages by hour of their local day, older
 * messages fading so a changed routine shows within a couple of weeks.
 */
import { localDayAndHour, timeZoneOf } from "../program/schedule.ts";
import type { Profiling } from "./state.ts";

/** Every new message makes the older ones count this much less. */
const FADE = 0.98;
/** Fewer messages than this say nothing about a rhythm. */
export const MIN_MESSAGES = 3;

export function noteActiveHour(p: Profiling, at: number, timeZone: string): void {
  const { hour } = localDayAndHour(at, timeZone);
  p.hours = p.hours.map((n, h) => Math.round((n * FADE + (h === hour ? 1 : 0)) * 1000) / 1000);
}

/**
 * The local hour (0–23) the person is most often active at, or null while too little is known.
 * Neighbouring hours count half, so 08:50 and 09:10 habits land on one hour.
 */
export function usualActiveHour(
  state: { profiling: Profiling; preferences?: { timeZone?: string } },
): number | null {
  const h = state.profiling.hours;
  const total = h.reduce((a, b) => a + b, 0);
  if (total < MIN_MESSAGES * 0.9) return null;
  let best = 0;
  let bestScore = -1;
  for (let i = 0; i < 24; i++) {
    const score = h[i]! + 0.5 * (h[(i + 23) % 24]! + h[(i + 1) % 24]!);
    if (score > bestScore) [best, bestScore] = [i, score];
  }
  return best;
}

/** The hours (local) holding at least `share` of the activity, most active first. */
export function activeHours(state: { profiling: Profiling }, share = 0.8): number[] {
  const h = state.profiling.hours;
  const total = h.reduce((a, b) => a + b, 0);
  if (total === 0) return [];
  const order = h.map((n, i) => [i, n] as const).sort((a, b) => b[1] - a[1]);
  const out: number[] = [];
  let sum = 0;
  for (const [i, n] of order) {
    if (sum >= share * total || n === 0) break;
    out.push(i);
    sum += n;
  }
  return out;
}

export { timeZoneOf };
