/**
 * Send times that respect a provider's limits: at most `perSecond` messages per connection (a
 * bot, a phone number) in any one-second window, and at least `chatIntervalMs` between two
 * messages to the same chat. Pure functions over a schedule of reserved times, kept by the
 * connection's pacer actor so every node of a cluster shares one schedule.
 */

export interface SlotLimits {
  /** Messages per second for the whole connection. */
  perSecond: number;
  /** Least gap between two messages to one chat, in ms (0: none). */
  chatIntervalMs: number;
}

export interface Schedule {
  /** Reserved send times of the connection, ascending, in epoch ms. */
  slots: number[];
  /** Next free time per chat. */
  chats: Record<string, number>;
  /** No slot before this time (the provider asked us to back off). */
  pausedUntil: number;
}

export const emptySchedule = (): Schedule => ({ slots: [], chats: {}, pausedUntil: 0 });

/** Least spacing between any two slots that keeps every one-second window at `perSecond`. */
export function spacingMs(perSecond: number): number {
  // A closed window of exactly 1 s spanning n gaps holds n + 1 sends: keep strictly above 1000/n.
  return 1000 / perSecond + 0.5;
}

/**
 * Reserves `parts` send times for `chat`, each at or after `notBefore`, the chat's own spacing
 * and the connection's pause, in free gaps of the schedule; returns them and the new schedule.
 * Slots and chat entries older than `now - 1 s` are dropped, so the schedule stays small.
 */
export function reserve(
  schedule: Schedule,
  { chat, parts, notBefore, now, limits }: {
    chat: string;
    parts: number;
    notBefore: number;
    now: number;
    limits: SlotLimits;
  },
): { at: number[]; schedule: Schedule } {
  const gap = spacingMs(limits.perSecond);
  const slots = schedule.slots.filter((t) => t > now - 1000);
  const chats: Record<string, number> = {};
  for (const [k, t] of Object.entries(schedule.chats)) if (t > now) chats[k] = t;
  const at: number[] = [];
  let earliest = Math.max(notBefore, now, schedule.pausedUntil, chats[chat] ?? 0);
  for (let i = 0; i < parts; i++) {
    const t = firstFree(slots, earliest, gap);
    insertSorted(slots, t);
    at.push(t);
    earliest = t + Math.max(limits.chatIntervalMs, 1);
  }
  if (limits.chatIntervalMs > 0) chats[chat] = at[at.length - 1]! + limits.chatIntervalMs;
  return { at, schedule: { slots, chats, pausedUntil: schedule.pausedUntil } };
}

/** The earliest time ≥ `from` at least `gap` away from every slot. */
function firstFree(slots: number[], from: number, gap: number): number {
  let t = from;
  for (const s of slots) {
    if (s <= t - gap) continue;
    if (s >= t + gap) break;
    t = s + gap;
  }
  return t;
}

function insertSorted(slots: number[], t: number) {
  let i = slots.length;
  while (i > 0 && slots[i - 1]! > t) i--;
  slots.splice(i, 0, t);
}
