/**
 * What the proactive engine records of every nudge (events through the outbox, projected into
 * the `nudges` table by channels/core/nudge_records.ts): sent, skipped and why, and its outcome.
 */
import { z } from "zod";

export const NUDGE_EVENTS = {
  sent: "nudge.sent",
  skipped: "nudge.skipped",
  outcome: "nudge.outcome",
} as const;

export const NudgeTrigger = z.enum([
  "inactivity",
  "reengagement",
  "streak_at_risk",
  "milestone",
  "program_step",
]);
export type NudgeTrigger = z.infer<typeof NudgeTrigger>;

/** Why a nudge did not go out (now). */
export const SkipReason = z.enum([
  "disabled",
  "opted_out",
  "no_channel",
  "quiet_hours",
  "live_conversation",
  "handoff",
  "cap_daily",
  "cap_weekly",
  "whatsapp_outside_window",
  "template_cap",
  "telegram_not_started",
]);
export type SkipReason = z.infer<typeof SkipReason>;

const Base = z.object({
  nudgeId: z.uuid(),
  creatorId: z.uuid(),
  endUserId: z.string().max(200),
  trigger: NudgeTrigger,
  /** Step of the inactivity sequence (0: the first inactivity nudge). */
  step: z.number().int().min(0).optional(),
  at: z.number(),
});

export const NudgeSent = Base.extend({
  channel: z.string().max(40),
  identityId: z.string().max(200),
  /** `template`: outside WhatsApp's window, charged. */
  kind: z.enum(["text", "template"]),
  deliveryId: z.uuid(),
  /** The person's local hour when it went out, and their usual hour then. */
  localHour: z.number().int().min(0).max(23),
  usualHour: z.number().int().min(0).max(23),
});
export type NudgeSent = z.infer<typeof NudgeSent>;

export const NudgeSkipped = Base.extend({
  reason: SkipReason,
  /** Deferred (quiet hours, a live conversation): tried again then. */
  retryAt: z.number().optional(),
});
export type NudgeSkipped = z.infer<typeof NudgeSkipped>;

export const NudgeOutcome = z.object({
  nudgeId: z.uuid(),
  creatorId: z.uuid(),
  endUserId: z.string().max(200),
  outcome: z.enum(["replied", "opted_out"]),
  at: z.number(),
});
export type NudgeOutcome = z.infer<typeof NudgeOutcome>;
