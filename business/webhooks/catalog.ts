/**
 * The events creators can subscribe webhook endpoints to, in one place: each one's name, what
 * it means, and which event of the events stream (`<prefix>.evt.<subject>`) becomes it.
 * Subjects follow the events catalog (analytics/events/catalog.ts); an event whose subject is not
 * published yet simply never arrives.
 */
import { z } from "zod";

export const WEBHOOK_EVENT_TYPES = [
  "program.completed",
  "badge.earned",
  "handoff.requested",
  "message.received",
  "delivery.failed",
  "subscription.changed",
  "plan.limit_reached",
] as const;
export type WebhookEventType = typeof WEBHOOK_EVENT_TYPES[number];

export const WEBHOOK_EVENT_DESCRIPTIONS: Record<WebhookEventType, string> = {
  "program.completed": "An end user completed a program",
  "badge.earned": "An end user earned a badge",
  "handoff.requested": "A conversation was handed to the creator and waits for an answer",
  "message.received": "An end user sent a message",
  "delivery.failed": "A message to an end user could not be delivered",
  "subscription.changed": "The creator's plan or subscription status changed",
  "plan.limit_reached": "A plan limit was reached (first time this month per limit)",
};

/** A webhook event ready to be queued for a creator's endpoints. */
export interface WebhookEvent {
  /** Stable per source event: the same event queued twice is delivered once per endpoint. */
  id: string;
  type: WebhookEventType;
  creatorId: string;
  /** Epoch ms. */
  at: number;
  data: Record<string, unknown>;
}

const Base = z.object({ creatorId: z.uuid(), at: z.number().optional() }).passthrough();
type Body = z.infer<typeof Base>;

/** What one subject (under `<prefix>.evt.`) becomes, if anything. */
const FROM_SUBJECT: Record<
  string,
  (b: Body) => [WebhookEventType, Record<string, unknown>] | null
> = {
  "program.completed": (b) => [
    "program.completed",
    { end_user_id: b.endUserId, program_id: b.programId },
  ],
  "badge.awarded": (b) => [
    "badge.earned",
    { end_user_id: b.endUserId, badge_id: b.badgeId, streak_days: b.streakDays },
  ],
  "conversation.status": (b) =>
    b.status === "handoff"
      ? ["handoff.requested", {
        conversation_id: b.conversationId,
        end_user_id: b.endUserId,
        channel: b.channel,
        reason: b.reason,
        last_message: b.lastMessage,
      }]
      : null,
  "conversation.message": (b) =>
    b.role === "user"
      ? ["message.received", {
        conversation_id: b.conversationId,
        end_user_id: b.endUserId,
        channel: b.channel,
        message_id: b.messageId,
        text: b.text,
      }]
      : null,
  "channel.status": (b) =>
    b.status === "failed"
      ? ["delivery.failed", {
        connection_id: b.connectionId,
        channel: b.channel,
        provider_message_id: b.providerMessageId,
        error: b.error,
      }]
      : null,
  "subscription.changed": (b) => [
    "subscription.changed",
    { plan: b.plan, status: b.status, previous_plan: b.previousPlan },
  ],
  "plan.limit_reached": (b) => [
    "plan.limit_reached",
    { limit: b.limit, plan: b.plan, usage: b.usage, limit_value: b.limitValue },
  ],
};

/** The subjects the webhook worker listens to. */
export const SOURCE_SUBJECTS = Object.keys(FROM_SUBJECT);

/** Maps one event of the stream to a webhook event, or undefined when none follows from it. */
export function webhookEventOf(
  subject: string,
  eventId: string,
  body: unknown,
): WebhookEvent | undefined {
  const make = FROM_SUBJECT[subject];
  if (!make) return undefined;
  const parsed = Base.safeParse(body);
  if (!parsed.success) return undefined;
  const made = make(parsed.data);
  if (!made) return undefined;
  const [type, data] = made;
  for (const k of Object.keys(data)) if (data[k] === undefined) delete data[k];
  return {
    id: eventId,
    type,
    creatorId: parsed.data.creatorId,
    at: parsed.data.at ?? Date.now(),
    data,
  };
}
