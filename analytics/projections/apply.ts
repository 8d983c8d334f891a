/**
 * Applies a batch of events to the analytics read models inside the caller's transaction: event
 * ids seen before are dropped, each event's body is checked against the catalog, people become
 * pseudonyms, and the rows are written with one statement per table (the projection's speed is
 * in these few round trips per batch, not one per event).
 */
import type pg from "pg";
import type { Buffer } from "node:buffer";
import { eventDefinition } from "../events/catalog.ts";
import type {
  BadgeAwarded,
  BadgeCheck,
  NudgeOutcome,
  NudgeSent,
  NudgeSkipped,
  ProgramCompleted,
  ProgramStatus,
  ProgramStep,
  SubscriptionChanged,
  UserRegistered,
  WebhookReceived,
} from "../events/catalog.ts";
import type { MessageRecorded, StatusChanged } from "../../actors/mod.ts";
import type { z } from "zod";
import { messageKey, pid } from "../privacy/pseudonyms.ts";
import { topicOf } from "./topic.ts";

/** One event as read from the stream (subject without the `<prefix>.evt.` part). */
export interface StreamEvent {
  id: string;
  seq: number;
  subject: string;
  body: unknown;
  /** When the stream stored it, epoch ms (for events that carry no time of their own). */
  storedAt?: number;
}

export interface KeySource {
  key(creatorId: string): Promise<Buffer>;
  /** The pseudonym of an end user under a key (may be cached). */
  pidOf?(key: Buffer, creatorId: string, endUserId: string): string;
  /** Creators known to exist (a cache the projection clears when a batch fails). */
  knownCreators?: Set<string>;
}

export interface BatchOutcome {
  applied: number;
  /** Applied events by name. */
  byName: Record<string, number>;
  duplicates: number;
  rejected: Array<{ id: string; subject: string; reason: string }>;
}

type Cols = Record<string, unknown[]>;

class Table {
  readonly cols: Cols;
  constructor(readonly names: string[]) {
    this.cols = Object.fromEntries(names.map((n) => [n, []]));
  }
  push(row: Record<string, unknown>) {
    for (const n of this.names) this.cols[n]!.push(row[n] ?? null);
  }
  get size() {
    return this.cols[this.names[0]!]!.length;
  }
  values() {
    return this.names.map((n) => this.cols[n]!);
  }
}

const ms = (n: number) => n / 1000;

/** Writes the rows of `events` (a batch in stream order); returns what it did. */
export async function applyBatch(
  client: pg.PoolClient,
  keys: KeySource,
  events: StreamEvent[],
): Promise<BatchOutcome> {
  const outcome: BatchOutcome = { applied: 0, byName: {}, duplicates: 0, rejected: [] };
  if (events.length === 0) return outcome;
  const { rows: fresh } = await client.query<{ event_id: string }>(
    `insert into analytics_applied (event_id) select unnest($1::text[])
     on conflict do nothing returning event_id`,
    [events.map((e) => e.id)],
  );
  const isFresh = new Set(fresh.map((r) => r.event_id));
  outcome.duplicates = events.length - isFresh.size;

  const creators = new Set<string>();
  const parsed: Array<{ e: StreamEvent; body: Record<string, unknown> }> = [];
  for (const e of events) {
    if (!isFresh.has(e.id)) continue;
    isFresh.delete(e.id); // a repeat inside the batch counts once
    const def = eventDefinition(e.subject);
    if (!def?.projected) continue;
    const r = def.schema.safeParse(e.body);
    if (!r.success) {
      outcome.rejected.push({
        id: e.id,
        subject: e.subject,
        reason: r.error.issues.map((i) => `${i.path.join(".") || "(event)"}: ${i.message}`)
          .join("; "),
      });
      continue;
    }
    const body = r.data as Record<string, unknown>;
    if (typeof body.creatorId === "string") creators.add(body.creatorId);
    parsed.push({ e, body });
  }
  if (parsed.length === 0) return outcome;
  // A creator deleted since (their rows went with them) is passed over, not a stuck batch.
  const known = keys.knownCreators ?? new Set<string>();
  const unsure = [...creators].filter((c) => !known.has(c));
  if (unsure.length) {
    const { rows: live } = await client.query<{ id: string }>(
      "select id from creators where id = any($1::uuid[])",
      [unsure],
    );
    for (const r of live) known.add(r.id);
    for (const c of unsure) if (!known.has(c)) creators.delete(c);
  }

  const keyOf = new Map<string, Buffer>();
  for (const c of creators) keyOf.set(c, await keys.key(c));
  const { rows: erasedRows } = await client.query<{ creator_id: string; pid: string }>(
    "select creator_id, pid from analytics_erased where creator_id = any($1::uuid[])",
    [[...creators]],
  );
  const erased = new Set(erasedRows.map((r) => `${r.creator_id}:${r.pid}`));

  const people = new Map<
    string,
    { c: string; p: string; first: number; last: number; ch: string }
  >();
  const messages = new Table([
    "id",
    "c",
    "p",
    "channel",
    "role",
    "at",
    "mkey",
    "rkey",
    "topic",
    "refused",
  ]);
  const unanswered = new Table(["c", "rkey"]);
  const handoffs = new Table(["id", "c", "p", "channel", "status", "reason", "at"]);
  const programs = new Table(["id", "c", "p", "program", "kind", "step_id", "step_index", "at"]);
  const nudges = new Map<string, Record<string, unknown>>();
  const outcomes = new Table(["c", "nudge", "outcome", "at"]);
  const badges = new Table(["id", "c", "p", "badge", "at"]);
  const streaks = new Map<string, { c: string; p: string; s: number; l: number; at: number }>();
  const subs = new Table(["id", "c", "plan", "status", "prev", "at"]);
  const hooks = new Table(["id", "c", "provider", "kind", "verified", "at"]);

  const seen = (c: string, p: string, at: number, ch: string) => {
    const k = `${c}:${p}`;
    const was = people.get(k);
    if (!was) return void people.set(k, { c, p, first: at, last: at, ch });
    if (at < was.first) Object.assign(was, { first: at, ch });
    if (at > was.last) was.last = at;
  };

  for (const { e, body } of parsed) {
    const c = body.creatorId as string | undefined;
    if (c && !creators.has(c)) continue;
    if (!c && e.subject !== "webhook.received") continue;
    const key = c ? keyOf.get(c)! : undefined;
    const p = key && typeof body.endUserId === "string"
      ? (keys.pidOf?.(key, c!, body.endUserId) ?? pid(key, body.endUserId))
      : undefined;
    if (c && p && erased.has(`${c}:${p}`)) continue;
    outcome.applied++;
    outcome.byName[e.subject] = (outcome.byName[e.subject] ?? 0) + 1;
    switch (e.subject) {
      case "user.registered": {
        const b = body as z.infer<typeof UserRegistered>;
        seen(c!, p!, b.at, b.channel);
        break;
      }
      case "conversation.message": {
        const b = body as MessageRecorded;
        if (b.channel === "preview") break;
        const isUser = b.role === "user";
        if (isUser) seen(c!, p!, b.at, b.channel);
        const refused = b.role === "assistant" && b.metadata?.refused === true;
        const rkey = b.replyTo ? messageKey(key!, b.conversationId, b.replyTo) : null;
        messages.push({
          id: e.id,
          c,
          p,
          channel: b.channel,
          role: b.role,
          at: ms(b.at),
          mkey: isUser && b.messageId ? messageKey(key!, b.conversationId, b.messageId) : null,
          rkey,
          topic: isUser ? topicOf(b.text) : null,
          refused,
        });
        if (refused && rkey) unanswered.push({ c, rkey });
        break;
      }
      case "conversation.status": {
        const b = body as StatusChanged;
        handoffs.push({
          id: e.id,
          c,
          p,
          channel: b.channel,
          status: b.status,
          reason: b.reason ?? null,
          at: ms(b.at),
        });
        break;
      }
      case "badge.check": {
        const b = body as z.infer<typeof BadgeCheck>;
        const streak = b.metrics.streak_days;
        if (streak === undefined) break;
        const when = e.storedAt ?? Date.now();
        const k = `${c}:${p}`;
        const was = streaks.get(k);
        const longest = Math.max(streak, was?.l ?? 0);
        if (!was || when >= was.at) {
          streaks.set(k, { c: c!, p: p!, s: streak, l: longest, at: when });
        } else was.l = longest;
        break;
      }
      case "program.status": {
        const b = body as z.infer<typeof ProgramStatus>;
        if (b.change !== "enrolled" && b.change !== "restarted") break;
        programs.push({
          id: e.id,
          c,
          p,
          program: b.programId,
          kind: "enrolled",
          step_index: b.seq,
          at: ms(b.at),
        });
        break;
      }
      case "program.completed": {
        const b = body as z.infer<typeof ProgramCompleted>;
        programs.push({
          id: e.id,
          c,
          p,
          program: b.programId,
          kind: "completed",
          step_index: b.seq,
          at: ms(b.at),
        });
        break;
      }
      case "program.step": {
        const b = body as z.infer<typeof ProgramStep>;
        programs.push({
          id: e.id,
          c,
          p,
          program: b.programId,
          kind: "step",
          step_id: b.stepId,
          step_index: b.seq,
          at: ms(b.at),
        });
        break;
      }
      case "badge.awarded": {
        const b = body as z.infer<typeof BadgeAwarded>;
        badges.push({ id: e.id, c, p, badge: b.badgeId, at: ms(b.at) });
        break;
      }
      case "nudge.sent":
      case "nudge.skipped": {
        const b = body as z.infer<typeof NudgeSent> & z.infer<typeof NudgeSkipped>;
        const nudge = b.nudgeId ?? e.id;
        nudges.set(`${c}:${nudge}`, {
          c,
          nudge,
          p,
          trigger: b.trigger,
          status: e.subject === "nudge.sent" ? "sent" : "skipped",
          reason: b.reason ?? null,
          channel: b.channel ?? null,
          at: ms(b.at),
        });
        break;
      }
      case "nudge.outcome": {
        const b = body as z.infer<typeof NudgeOutcome>;
        outcomes.push({ c, nudge: b.nudgeId, outcome: b.outcome, at: ms(b.at) });
        break;
      }
      case "subscription.changed": {
        const b = body as z.infer<typeof SubscriptionChanged>;
        subs.push({
          id: e.id,
          c,
          plan: b.plan,
          status: b.status,
          prev: b.previousPlan ?? null,
          at: ms(b.at),
        });
        break;
      }
      case "webhook.received": {
        const b = body as z.infer<typeof WebhookReceived>;
        hooks.push({
          id: e.id,
          c: b.creatorId ?? null,
          provider: b.provider,
          kind: b.kind,
          verified: b.verified,
          at: ms(b.at),
        });
        break;
      }
    }
  }

  if (people.size) {
    const ps = [...people.values()];
    await client.query(
      `insert into analytics_people (creator_id, pid, first_seen_at, last_seen_at, first_channel)
       select c, p, to_timestamp(f), to_timestamp(l), ch
         from unnest($1::uuid[], $2::text[], $3::float8[], $4::float8[], $5::text[]) u(c, p, f, l, ch)
       on conflict (creator_id, pid) do update set
         first_channel = case when excluded.first_seen_at < analytics_people.first_seen_at
                         then excluded.first_channel else analytics_people.first_channel end,
         first_seen_at = least(analytics_people.first_seen_at, excluded.first_seen_at),
         last_seen_at = greatest(analytics_people.last_seen_at, excluded.last_seen_at)`,
      [
        ps.map((x) => x.c),
        ps.map((x) => x.p),
        ps.map((x) => ms(x.first)),
        ps.map((x) => ms(x.last)),
        ps.map((x) => x.ch),
      ],
    );
  }
  if (messages.size) {
    await client.query(
      `insert into analytics_messages (event_id, creator_id, pid, channel, role, at, message_key,
                                       reply_to_key, topic, refused)
       select id, c, p, ch, r, to_timestamp(a), mk, rk, t, rf
         from unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::float8[],
                     $7::text[], $8::text[], $9::text[], $10::bool[])
              u(id, c, p, ch, r, a, mk, rk, t, rf)
       on conflict (event_id) do nothing`,
      messages.values(),
    );
  }
  if (unanswered.size) {
    await client.query(
      `update analytics_messages m set unanswered = true
         from unnest($1::uuid[], $2::text[]) u(c, k)
        where m.creator_id = u.c and m.message_key = u.k`,
      unanswered.values(),
    );
  }
  if (handoffs.size) {
    await client.query(
      `insert into analytics_handoffs (event_id, creator_id, pid, channel, status, reason, at)
       select id, c, p, ch, s, r, to_timestamp(a)
         from unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::float8[]) u(id, c, p, ch, s, r, a)
       on conflict (event_id) do nothing`,
      handoffs.values(),
    );
  }
  if (programs.size) {
    await client.query(
      `insert into analytics_program_events (event_id, creator_id, pid, program_id, kind, step_id,
                                             step_index, at)
       select id, c, p, pr, k, si, sx, to_timestamp(a)
         from unnest($1::text[], $2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::text[],
                     $7::int[], $8::float8[]) u(id, c, p, pr, k, si, sx, a)
       on conflict (event_id) do nothing`,
      programs.values(),
    );
  }
  if (nudges.size) {
    const t = new Table(["c", "nudge", "p", "trigger", "status", "reason", "channel", "at"]);
    for (const n of nudges.values()) t.push(n);
    await client.query(
      `insert into analytics_nudges (creator_id, nudge_id, pid, trigger, status, reason, channel, at)
       select c, n, p, tr, s, r, ch, to_timestamp(a)
         from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::float8[]) u(c, n, p, tr, s, r, ch, a)
       on conflict (creator_id, nudge_id) do nothing`,
      t.values(),
    );
  }
  if (outcomes.size) {
    // The first outcome of a nudge is the one kept (a reply, then a later opt-out: the reply).
    await client.query(
      `update analytics_nudges n set outcome = u.o, outcome_at = to_timestamp(u.a)
         from (select distinct on (c, n) c, n, o, a
                 from unnest($1::uuid[], $2::text[], $3::text[], $4::float8[]) x(c, n, o, a)
                order by c, n, a) u
        where n.creator_id = u.c and n.nudge_id = u.n and n.outcome is null`,
      outcomes.values(),
    );
  }
  if (badges.size) {
    await client.query(
      `insert into analytics_badges (event_id, creator_id, pid, badge_id, at)
       select id, c, p, b, to_timestamp(a)
         from unnest($1::text[], $2::uuid[], $3::text[], $4::uuid[], $5::float8[]) u(id, c, p, b, a)
       on conflict (event_id) do nothing`,
      badges.values(),
    );
  }
  if (streaks.size) {
    const t = new Table(["c", "p", "s", "l", "at"]);
    for (const s of streaks.values()) t.push({ ...s, at: ms(s.at) });
    await client.query(
      `insert into analytics_streaks (creator_id, pid, streak_days, longest_days, at)
       select c, p, s, l, to_timestamp(a)
         from unnest($1::uuid[], $2::text[], $3::int[], $4::int[], $5::float8[]) u(c, p, s, l, a)
       on conflict (creator_id, pid) do update set
         streak_days = case when excluded.at >= analytics_streaks.at
                       then excluded.streak_days else analytics_streaks.streak_days end,
         longest_days = greatest(analytics_streaks.longest_days, excluded.longest_days),
         at = greatest(analytics_streaks.at, excluded.at)`,
      t.values(),
    );
  }
  if (subs.size) {
    await client.query(
      `insert into analytics_subscriptions (event_id, creator_id, plan, status, previous_plan, at)
       select id, c, pl, s, pr, to_timestamp(a)
         from unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::float8[])
              u(id, c, pl, s, pr, a)
       on conflict (event_id) do nothing`,
      subs.values(),
    );
  }
  if (hooks.size) {
    await client.query(
      `insert into analytics_webhooks (event_id, creator_id, provider, kind, verified, at)
       select id, c, pr, k, v, to_timestamp(a)
         from unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::bool[], $6::float8[])
              u(id, c, pr, k, v, a)
       on conflict (event_id) do nothing`,
      hooks.values(),
    );
  }
  return outcome;
}
