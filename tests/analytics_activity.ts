/**
 * Generated activity for the analytics tests: events published on the events stream the way the
 * outbox relay publishes them (subject `<prefix>.evt.<name>`, `Nats-Msg-Id` = the event id), and
 * delivery rows as the delivery worker writes them. The figures it produces are worked out by
 * hand in the tests.
 */
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type pg from "pg";
import { withSystem } from "../db/tenant.ts";

export interface Publisher {
  nc: NatsConnection;
  prefix: string;
}

/** Publishes one event; returns its stream sequence. */
export async function publishEvent(
  p: Publisher,
  name: string,
  body: unknown,
  id: string = crypto.randomUUID(),
): Promise<number> {
  const ack = await jetstream(p.nc).publish(`${p.prefix}.evt.${name}`, JSON.stringify(body), {
    msgID: id,
  });
  return ack.seq;
}

const t = (iso: string) => Date.parse(iso);
const hours = (n: number) => n * 3600_000;

export interface Activity {
  /** Telegram people t0..t5 (end user ids). */
  telegram: string[];
  /** WhatsApp people w0, w1. */
  whatsapp: string[];
  programId: string;
  badgeId: string;
  otherBadgeId: string;
  /** The question texts (must not reach analytics tables). */
  texts: string[];
}

/** Inserts `n` end users of `creatorId` (deliveries reference them). */
export async function insertEndUsers(pool: pg.Pool, creatorId: string, n: number) {
  return await withSystem(pool, async (c) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const { rows: [u] } = await c.query<{ id: string }>(
        `insert into end_users (creator_id, channel, external_id, display_name)
         values ($1, 'telegram', $2, 'Person') returning id`,
        [creatorId, crypto.randomUUID()],
      );
      ids.push(u!.id);
    }
    return ids;
  });
}

/**
 * The activity of one creator, around Monday 2026-11-02:
 * - t0..t5 (Telegram) write twice on 11-02 at 15:00Z and 15:10Z; t0..t2 once more at 18:00Z;
 *   each first message is answered, the answers to t0..t4 refuse ("shin splints"); t0 is handed
 *   to the creator. t0..t4 write again on 11-10 (the next week).
 * - w0, w1 (WhatsApp) write once on 11-02 at 03:00Z (11-01 22:00 in New York).
 * - Program: t0..t5 enrol at 11-02 10:00Z; t_i reaches step 0 after (i+1) h; t0..t4 reach
 *   step 1 two hours after that and complete one hour later.
 * - Nudges "inactivity" at 11-03 09:00Z to t0..t5: t0..t2 write at 12:00Z, t3 the next day at
 *   10:00Z (too late), t4 opts out, t5's outcome says replied. Skipped "streak_at_risk" for
 *   quiet_hours for t0..t5, "inactivity" for cap_daily for w0.
 * - Badges: one badge to t0..t5, another to w0. Streaks: t0..t5 at 3 days, w0 at 10.
 */
export async function generateActivity(
  p: Publisher,
  creatorId: string,
  telegram: string[],
  whatsapp: string[],
): Promise<Activity> {
  const programId = crypto.randomUUID();
  const badgeId = crypto.randomUUID();
  const otherBadgeId = crypto.randomUUID();
  const texts: string[] = [];
  const conv = new Map<string, string>();
  const convOf = (u: string) => {
    if (!conv.has(u)) conv.set(u, crypto.randomUUID());
    return conv.get(u)!;
  };
  const message = async (
    u: string,
    channel: string,
    at: number,
    text: string,
    extra: Record<string, unknown> = {},
  ) => {
    texts.push(text);
    await publishEvent(p, "conversation.message", {
      creatorId,
      conversationId: convOf(u),
      endUserId: u,
      channel,
      role: "user",
      text,
      at,
      ...extra,
    });
  };
  for (const [i, u] of telegram.entries()) {
    const first = `m-${i}-1`;
    await message(u, "telegram", t("2026-11-02T15:00:00Z"), "How do I treat shin splints?", {
      messageId: first,
    });
    await publishEvent(p, "conversation.message", {
      creatorId,
      conversationId: convOf(u),
      endUserId: u,
      channel: "telegram",
      role: "assistant",
      text: "Here is what I found.",
      at: t("2026-11-02T15:00:01Z"),
      replyTo: first,
      metadata: { refused: i < 5, qa: { ok: true, grounding: 1, refused: i < 5, problems: [] } },
    });
    await message(u, "telegram", t("2026-11-02T15:10:00Z"), "thanks", { messageId: `m-${i}-2` });
    if (i < 3) {
      await message(u, "telegram", t("2026-11-02T18:00:00Z"), "one more thing", {
        messageId: `m-${i}-3`,
      });
    }
    if (i === 0) {
      await publishEvent(p, "conversation.status", {
        creatorId,
        conversationId: convOf(u),
        endUserId: u,
        channel: "telegram",
        status: "handoff",
        reason: "low_confidence",
        at: t("2026-11-02T15:00:02Z"),
      });
    }
    if (i < 5) {
      await message(u, "telegram", t("2026-11-10T09:00:00Z"), "back again", {
        messageId: `m-${i}-4`,
      });
    }
  }
  for (const [i, u] of whatsapp.entries()) {
    await message(u, "whatsapp", t("2026-11-02T03:00:00Z"), "hello there", {
      messageId: `w-${i}`,
    });
  }
  const enrolled = t("2026-11-02T10:00:00Z");
  for (const [i, u] of telegram.entries()) {
    // As actors/user/program/engine.ts emits them.
    const base = { creatorId, endUserId: u, programId, version: 1 };
    const step = { stepType: "message", outcome: "sent" };
    await publishEvent(p, "program.status", { ...base, seq: 0, change: "enrolled", at: enrolled });
    const s0 = enrolled + hours(i + 1);
    await publishEvent(p, "program.step", { ...base, ...step, seq: 1, stepId: "intro", at: s0 });
    if (i < 5) {
      await publishEvent(p, "program.step", {
        ...base,
        ...step,
        seq: 2,
        stepId: "practice",
        at: s0 + hours(2),
      });
      await publishEvent(p, "program.completed", { ...base, seq: 3, at: s0 + hours(3) });
    }
  }
  const nudgeAt = t("2026-11-03T09:00:00Z");
  for (const [i, u] of telegram.entries()) {
    const nudgeId = crypto.randomUUID();
    // As actors/user/proactive/engine.ts emits them.
    await publishEvent(p, "nudge.sent", {
      creatorId,
      endUserId: u,
      nudgeId,
      trigger: "inactivity",
      step: 0,
      channel: "telegram",
      identityId: crypto.randomUUID(),
      kind: "text",
      deliveryId: crypto.randomUUID(),
      localHour: 10,
      usualHour: 10,
      at: nudgeAt,
    });
    if (i < 3) {
      await message(u, "telegram", t("2026-11-03T12:00:00Z"), "ok!", { messageId: `r${i}` });
    }
    if (i === 3) {
      await message(u, "telegram", t("2026-11-04T10:00:00Z"), "late", { messageId: "r3" });
    }
    if (i === 4) {
      await publishEvent(p, "nudge.outcome", {
        creatorId,
        endUserId: u,
        nudgeId,
        outcome: "opted_out",
        at: nudgeAt + hours(1),
      });
    }
    if (i === 5) {
      await publishEvent(p, "nudge.outcome", {
        creatorId,
        endUserId: u,
        nudgeId,
        outcome: "replied",
        at: nudgeAt + hours(1),
      });
    }
    await publishEvent(p, "nudge.skipped", {
      creatorId,
      endUserId: u,
      nudgeId: crypto.randomUUID(),
      trigger: "streak_at_risk",
      reason: "quiet_hours",
      at: nudgeAt + hours(12),
    });
    await publishEvent(p, "badge.awarded", { creatorId, endUserId: u, badgeId, at: nudgeAt });
    await publishEvent(p, "badge.check", {
      creatorId,
      endUserId: u,
      metrics: { messages_sent: 4, streak_days: 3 },
      awarded: [badgeId],
    });
  }
  await publishEvent(p, "nudge.skipped", {
    creatorId,
    endUserId: whatsapp[0],
    nudgeId: crypto.randomUUID(),
    trigger: "inactivity",
    reason: "cap_daily",
    at: nudgeAt,
  });
  await publishEvent(p, "badge.awarded", {
    creatorId,
    endUserId: whatsapp[0],
    badgeId: otherBadgeId,
    at: nudgeAt,
  });
  await publishEvent(p, "badge.check", {
    creatorId,
    endUserId: whatsapp[0],
    metrics: { streak_days: 10 },
    awarded: [],
  });
  return { telegram, whatsapp, programId, badgeId, otherBadgeId, texts };
}

/**
 * Delivery rows for `people` (six end users): a delivered Telegram message each, a read WhatsApp
 * utility template each (billable), and failed WhatsApp messages ("window_closed") for five.
 */
export async function insertDeliveries(pool: pg.Pool, creatorId: string, people: string[]) {
  await withSystem(pool, async (c) => {
    const at = "2026-11-02T12:00:00Z";
    for (const [i, u] of people.entries()) {
      const row = async (channel: string, status: string, extra: Record<string, unknown>) =>
        await c.query(
          `insert into deliveries (id, creator_id, end_user_id, channel, purpose, content, status,
                                   reason, pricing_category, billable, queued_at)
           values ($1, $2, $3, $4, 'nudge', '{"text":"hi"}', $5, $6, $7, $8, $9)`,
          [
            crypto.randomUUID(),
            creatorId,
            u,
            channel,
            status,
            extra.reason ?? null,
            extra.pricing ?? null,
            extra.billable ?? null,
            at,
          ],
        );
      await row("telegram", "delivered", {});
      await row("whatsapp", "read", { pricing: "utility", billable: true });
      if (i < 5) await row("whatsapp", "failed", { reason: "window_closed" });
    }
  });
}
