/** The hour of the day a person usually writes, learned from their own messages. */
import { minuteIsQuiet, type QuietHours } from "./local_time.ts";

/**
 * The local hour with the most of the person's messages, among hours outside their quiet hours
 * (a nudge at 23:00 is no use however late they write); `fallback` until they wrote.
 */
export function usualHour(hours: readonly number[], quiet: QuietHours, fallback: number): number {
  const open = (h: number) => !minuteIsQuiet(h * 60 + 30, quiet);
  let best = -1;
  for (let h = 0; h < 24; h++) {
    if (open(h) && (hours[h] ?? 0) > 0 && (best < 0 || hours[h]! > hours[best]!)) best = h;
  }
  if (best >= 0) return best;
  if (open(fallback)) return fallback;
  for (let d = 1; d < 24; d++) if (open((fallback + d) % 24)) return (fallback + d) % 24;
  return fallback;
}
