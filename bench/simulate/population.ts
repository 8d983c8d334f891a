/**
 * The simulated people: where they live (time zones with and without daylight-saving changes in
 * the period), when they usually write, how often, whether they drift away, reply to nudges,
 * opt out and back, or move to another time zone. Everything follows from the seed.
 */
import { DateTime } from "luxon";

/** mulberry32: a small seeded generator, enough for a reproducible population. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number) => next() < p,
  };
}
export type Rng = ReturnType<typeof rng>;

/** Zones with a daylight-saving change in March/April 2026 (US 8 Mar, EU 29 Mar, AU/NZ 5 Apr) and without. */
export const ZONES = [
  "America/New_York",
  "America/Los_Angeles",
  "America/Chicago",
  "Europe/London",
  "Europe/Paris",
  "Europe/Berlin",
  "Australia/Sydney",
  "Pacific/Auckland",
  "Asia/Tokyo",
  "Asia/Kolkata",
  "America/Sao_Paulo",
  "Africa/Johannesburg",
  "UTC",
] as const;

export interface SimUser {
  index: number;
  creator: number;
  channel: "telegram" | "whatsapp";
  zone: string;
  /** Moves to `moveZone` on day `moveDay` (tells the coach through its preferences). */
  move?: { day: number; zone: string };
  /** Local quiet hours this person set, if not the default. */
  quietHours?: { start: string; end: string };
  /** The local hour they usually write in. */
  peakHour: number;
  /** Chance of writing on a given day (before they drift away). */
  activity: number;
  /** From this day on they stop writing on their own. */
  churnDay: number | null;
  /** Chance of answering a nudge, and how soon. */
  replyChance: number;
  /** STOP on this day, START again on that one (or never). */
  stop?: { day: number; startDay: number | null };
}

export type SimEvent =
  | { at: number; user: number; type: "message" }
  | { at: number; user: number; type: "stop" }
  | { at: number; user: number; type: "start" }
  | { at: number; user: number; type: "move"; zone: string };

export function population(
  r: Rng,
  { users, days, creators }: { users: number; days: number; creators: number },
): SimUser[] {
  return Array.from({ length: users }, (_, index) => {
    const zone = r.pick(ZONES);
    const u: SimUser = {
      index,
      creator: index % creators,
      channel: r.chance(0.55) ? "telegram" : "whatsapp",
      zone,
      peakHour: r.int(8, 19),
      activity: 0.3 + r.next() * 0.6,
      churnDay: r.chance(0.35) ? r.int(1, Math.max(1, Math.floor(days / 2))) : null,
      replyChance: 0.1 + r.next() * 0.7,
    };
    if (r.chance(0.15)) u.quietHours = { start: "22:00", end: "07:30" };
    if (r.chance(0.1) && days >= 4) {
      u.move = { day: r.int(2, days - 1), zone: r.pick(ZONES.filter((z) => z !== zone)) };
    }
    if (r.chance(0.08) && days >= 3) {
      const day = r.int(1, days - 2);
      u.stop = { day, startDay: r.chance(0.5) ? r.int(day + 1, days - 1) : null };
    }
    return u;
  });
}

/** The local time `hour:minute` on day `day` of the run in `zone`, as epoch ms. */
function localAt(start: number, day: number, zone: string, hour: number, minute: number) {
  const d = DateTime.fromMillis(start, { zone }).startOf("day").plus({ days: day });
  return d.set({ hour, minute }).toMillis();
}

/** What each person does on their own over the run (replies to nudges come later, as they arrive). */
export function plannedEvents(r: Rng, people: SimUser[], start: number, days: number): SimEvent[] {
  const out: SimEvent[] = [];
  for (const u of people) {
    for (let day = 0; day < days; day++) {
      const zone = u.move && day >= u.move.day ? u.move.zone : u.zone;
      const active = u.churnDay === null || day < u.churnDay;
      if (active && r.chance(u.activity)) {
        const n = r.int(1, 3);
        for (let i = 0; i < n; i++) {
          // Mostly in their usual hour, now and then an hour off.
          const hour = Math.min(23, Math.max(0, u.peakHour + (r.chance(0.2) ? r.int(-1, 1) : 0)));
          out.push({
            at: localAt(start, day, zone, hour, r.int(0, 59)),
            user: u.index,
            type: "message",
          });
        }
      }
      if (u.stop?.day === day) {
        out.push({ at: localAt(start, day, zone, u.peakHour, 55), user: u.index, type: "stop" });
      }
      if (u.stop?.startDay === day) {
        out.push({ at: localAt(start, day, zone, u.peakHour, 5), user: u.index, type: "start" });
      }
      if (u.move?.day === day) {
        out.push({
          at: localAt(start, day, u.zone, 3, 0),
          user: u.index,
          type: "move",
          zone: u.move.zone,
        });
      }
    }
  }
  return out.filter((e) => e.at >= start).sort((a, b) => a.at - b.at);
}
