/**
 * The simulation's independent checker: from what actually arrived at the providers' fakes (when,
 * to whom, text or template) and what each simulated person did and set, it counts every
 * violation of the rules a nudge must obey. It shares no code with the engine's guards: local
 * times come from luxon directly, and caps from the creators' configuration in ./world.ts.
 */
import { DateTime } from "luxon";

export interface Arrival {
  at: number;
  user: number;
  channel: "telegram" | "whatsapp";
  kind: "text" | "template";
  text: string;
}

/** What a message is, from its text: a nudge, a badge or achievement, or a command's notice. */
export type MessageKind = "nudge" | "badge" | "notice";

export interface PersonFacts {
  /** The zone in effect from each time on (first entry from the start). */
  zones: { from: number; zone: string }[];
  quietHours: { start: string; end: string };
  dailyCap: number;
  weeklyCap: number;
  /** When they wrote (any message, STOP and START included), ascending. */
  wrote: number[];
  /** Opted-out periods: from STOP until START (or the end). */
  optedOut: { from: number; until: number | null }[];
  /** The local hours they write in, as the simulation made them. */
  activeHours: Set<number>;
}

export const GUARDS = [
  "quiet_hours",
  "caps",
  "after_opt_out",
  "whatsapp_freeform_outside_window",
  "duplicate_badge",
] as const;
export type Violations = Record<(typeof GUARDS)[number], number>;

const zoneAt = (f: PersonFacts, at: number) => {
  let z = f.zones[0]!.zone;
  for (const e of f.zones) if (e.from <= at) z = e.zone;
  return z;
};

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

function quiet(local: DateTime, q: { start: string; end: string }): boolean {
  const m = local.hour * 60 + local.minute;
  const s = minutes(q.start);
  const e = minutes(q.end);
  return s <= e ? m >= s && m < e : m >= s || m < e;
}

export interface CheckResult {
  violations: Violations;
  examples: string[];
  nudges: number;
  badges: number;
  inActiveHours: number;
  repliedWithin24h: number;
}

/**
 * `kindOf` tells a nudge from a badge and from a reply to the person's own command. Quiet hours,
 * caps and opt-out are the nudges' rules; WhatsApp's window holds for every free-form message;
 * a badge (or achievement) announced twice within a day is a duplicate.
 */
export function check(
  arrivals: Arrival[],
  facts: PersonFacts[],
  kindOf: (a: Arrival) => MessageKind,
): CheckResult {
  const violations: Violations = {
    quiet_hours: 0,
    caps: 0,
    after_opt_out: 0,
    whatsapp_freeform_outside_window: 0,
    duplicate_badge: 0,
  };
  const examples: string[] = [];
  const flag = (g: keyof Violations, a: Arrival, why: string) => {
    violations[g]++;
    if (examples.length < 20) {
      examples.push(`${g}: user ${a.user} at ${new Date(a.at).toISOString()} (${why})`);
    }
  };
  const all = [...arrivals].sort((a, b) => a.at - b.at);
  const badgesSeen = new Map<string, number>();
  let badges = 0;
  for (const a of all) {
    const f = facts[a.user]!;
    if (a.channel === "whatsapp" && a.kind === "text") {
      const last = f.wrote.filter((w) => w <= a.at).at(-1);
      if (last === undefined || a.at - last >= 24 * 3600_000) {
        flag(
          "whatsapp_freeform_outside_window",
          a,
          `last wrote ${last ? new Date(last).toISOString() : "never"}`,
        );
      }
    }
    if (kindOf(a) !== "badge") continue;
    badges++;
    const key = `${a.user}:${a.text}`;
    const before = badgesSeen.get(key);
    if (before !== undefined && a.at - before < 24 * 3600_000) flag("duplicate_badge", a, a.text);
    badgesSeen.set(key, a.at);
  }
  const nudges = all.filter((a) => kindOf(a) === "nudge");
  const byUser = new Map<number, Arrival[]>();
  let inActive = 0;
  let replied = 0;
  for (const a of nudges) {
    const f = facts[a.user]!;
    const zone = zoneAt(f, a.at);
    const local = DateTime.fromMillis(a.at, { zone });
    if (quiet(local, f.quietHours)) flag("quiet_hours", a, `${local.toFormat("HH:mm")} ${zone}`);
    if (f.optedOut.some((p) => a.at > p.from && (p.until === null || a.at < p.until))) {
      flag("after_opt_out", a, "opted out");
    }
    const earlier = byUser.get(a.user) ?? [];
    const dayStart = local.startOf("day").toMillis();
    const today = earlier.filter((e) => e.at >= dayStart).length + 1;
    const week = earlier.filter((e) => e.at > a.at - 7 * 24 * 3600_000).length + 1;
    if (today > f.dailyCap) flag("caps", a, `${today} today, cap ${f.dailyCap}`);
    else if (week > f.weeklyCap) flag("caps", a, `${week} this week, cap ${f.weeklyCap}`);
    earlier.push(a);
    byUser.set(a.user, earlier);
    if (f.activeHours.has(local.hour)) inActive++;
    if (f.wrote.some((w) => w > a.at && w - a.at <= 24 * 3600_000)) replied++;
  }
  return {
    violations,
    examples,
    nudges: nudges.length,
    badges,
    inActiveHours: nudges.length ? inActive / nudges.length : 0,
    repliedWithin24h: replied,
  };
}
