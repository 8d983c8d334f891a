/**
 * The one catalog of domain events. Every event leaves through the actor outbox
 * (`ctx.emit(name, data)`) or a webhook's publish onto the events stream (`<prefix>.evt.<name>`,
 * stream `<prefix>_events`) with a unique id, its `Nats-Msg-Id`. Each entry names its subject, its
 * version, its family and a zod schema of its body; docs/events.md is generated from it
 * (`deno task events-doc`).
 *
 * Versioning: a compatible change (a new optional field) keeps the version. A breaking change
 * publishes under `<name>.v<N>` beside the old subject until every consumer reads the new one.
 */
import { z } from "zod";
import {
  CONVERSATION_EVENTS,
  ConversationChannel,
  DELIVERY_SUBJECT,
  DeliveryRequest,
  MessageRecorded,
  StatusChanged,
} from "../../actors/mod.ts";
import { IndexErase, IndexPut, indexSubject } from "../../knowledge/mod.ts";
import { ProviderStatus, STATUS_SUBJECT } from "../../channels/core/statuses.ts";
import {
  NUDGE_EVENTS,
  NudgeOutcome,
  NudgeSent,
  NudgeSkipped,
} from "../../actors/user/proactive/events.ts";
import { BADGE_EVENTS } from "../../actors/user/badges/awards.ts";
import { PROGRAM_EVENTS } from "../../actors/user/program/engine.ts";
import { ENROLL_REQUESTED } from "../../actors/user/program/programs.ts";
import { INSIGHTS_SUBJECT } from "../../actors/user/profiling/observe.ts";

export { NudgeOutcome, NudgeSent, NudgeSkipped };

export const EVENT_FAMILIES = ["user", "system", "business", "integration"] as const;
export type EventFamily = typeof EVENT_FAMILIES[number];

export interface EventDefinition<S extends z.ZodType = z.ZodType> {
  /** The subject under `<prefix>.evt.`. */
  name: string;
  version: number;
  family: EventFamily;
  /** The seed's category within the family (registration, interaction, progress...). */
  category: string;
  description: string;
  /** Who publishes it. */
  source: string;
  /** Whether analytics keeps figures from it (no message text is ever kept). */
  projected: boolean;
  schema: S;
}

const at = z.number().describe("When it happened, epoch ms");
const tenant = { creatorId: z.uuid(), endUserId: z.uuid() };

export const UserRegistered = z.object({
  ...tenant,
  channel: ConversationChannel,
  at,
});
/** What every program event carries (actors/user/program/engine.ts). */
const ProgramBase = {
  creatorId: z.uuid(),
  endUserId: z.string().min(1).max(200),
  programId: z.uuid(),
  /** The published version the person follows. */
  version: z.number().int(),
  /** Steps run so far in this enrolment: orders the funnel's steps. */
  seq: z.number().int(),
  at,
};
export const ProgramStep = z.object({
  ...ProgramBase,
  stepId: z.string().min(1).max(200),
  stepType: z.string().max(40),
  /** sent, waiting, answered, timed_out, skipped, branched, reached, awarded, deferred... */
  outcome: z.string().max(40),
});
export const ProgramStatus = z.object({
  ...ProgramBase,
  change: z.string().max(40).describe("enrolled, restarted, paused, resumed, unenrolled"),
});
export const ProgramCompleted = z.object(ProgramBase);
export const BadgeAwarded = z.object({
  creatorId: z.uuid(),
  endUserId: z.string().min(1).max(200),
  badgeId: z.uuid(),
  at,
});
/** The actor asks for its badges to be judged on its current metrics (no time: the stream's). */
export const BadgeCheck = z.object({
  creatorId: z.uuid(),
  endUserId: z.string().min(1).max(200),
  metrics: z.record(z.string(), z.number()).describe(
    "messages_sent, sessions, days_active, streak_days, ...",
  ),
  awarded: z.array(z.string()),
  award: z.string().optional(),
});
export const AchievementReached = z.object({
  creatorId: z.uuid(),
  endUserId: z.string().min(1).max(200),
  key: z.string().max(200),
  kind: z.string().max(60),
  title: z.string().max(300),
  at,
});
export const UserInsights = z.object({
  creatorId: z.uuid(),
  endUserId: z.string().min(1).max(200),
  at,
  insights: z.record(z.string(), z.unknown()),
});
export const EnrollRequested = z.object({
  creatorId: z.uuid().optional(),
  programId: z.string().max(200).optional(),
}).describe("A person asked to start a program (the API enrols them)");
export const SubscriptionChanged = z.object({
  creatorId: z.uuid(),
  plan: z.string().min(1).max(100),
  status: z.string().min(1).max(60).describe("trialing, active, past_due, canceled..."),
  previousPlan: z.string().max(100).optional(),
  at,
});
export const WebhookReceived = z.object({
  creatorId: z.uuid().optional(),
  /** stripe, telegram, whatsapp, sendgrid... */
  provider: z.string().min(1).max(60),
  kind: z.string().min(1).max(200),
  verified: z.boolean(),
  at,
});
export const SystemHealth = z.object({
  node: z.string().min(1).max(200),
  component: z.string().min(1).max(100),
  status: z.enum(["ok", "degraded", "down"]),
  detail: z.string().max(500).optional(),
  at,
});
export const SystemPerformance = z.object({
  node: z.string().min(1).max(200),
  metric: z.string().min(1).max(100),
  value: z.number(),
  unit: z.string().max(20).optional(),
  at,
});

function def<S extends z.ZodType>(d: EventDefinition<S>): EventDefinition<S> {
  return d;
}

/** Every event, by subject. */
export const EVENTS = {
  "user.registered": def({
    name: "user.registered",
    version: 1,
    family: "user",
    category: "registration",
    description: "An end user is known for the first time (first contact on a channel).",
    source: "channels intake",
    projected: true,
    schema: UserRegistered,
  }),
  [CONVERSATION_EVENTS.message]: def({
    name: CONVERSATION_EVENTS.message,
    version: 1,
    family: "user",
    category: "interaction",
    description: "Something said in a delivered conversation (the person, the coach, the " +
      "creator). Analytics keeps who (pseudonymous), when, the channel, the role, whether an " +
      "answer refused, and a one-word topic of a question, never the text.",
    source: "ConversationActor",
    projected: true,
    schema: MessageRecorded,
  }),
  [CONVERSATION_EVENTS.status]: def({
    name: CONVERSATION_EVENTS.status,
    version: 1,
    family: "user",
    category: "interaction",
    description: "A conversation went to the human creator (handoff) or came back.",
    source: "ConversationActor",
    projected: true,
    schema: StatusChanged,
  }),
  [INSIGHTS_SUBJECT]: def({
    name: INSIGHTS_SUBJECT,
    version: 1,
    family: "user",
    category: "progress",
    description: "What the coach learned of a person (language, mood, active hours, risk).",
    source: "UserActor",
    projected: false,
    schema: UserInsights,
  }),
  [BADGE_EVENTS.check]: def({
    name: BADGE_EVENTS.check,
    version: 1,
    family: "user",
    category: "progress",
    description: "The person's metrics, to judge badges on. Analytics keeps the streak " +
      "(`metrics.streak_days`, as of the event's time in the stream).",
    source: "UserActor",
    projected: true,
    schema: BadgeCheck,
  }),
  [BADGE_EVENTS.achievement]: def({
    name: BADGE_EVENTS.achievement,
    version: 1,
    family: "business",
    category: "badge earned",
    description: "An achievement (first week, a comeback) reached, announced once.",
    source: "UserActor",
    projected: false,
    schema: AchievementReached,
  }),
  [PROGRAM_EVENTS.status]: def({
    name: PROGRAM_EVENTS.status,
    version: 1,
    family: "business",
    category: "program completion",
    description: "An enrolment changed: enrolled or restarted (the funnel's first stage), " +
      "paused, resumed, unenrolled.",
    source: "UserActor",
    projected: true,
    schema: ProgramStatus,
  }),
  [ENROLL_REQUESTED]: def({
    name: ENROLL_REQUESTED,
    version: 1,
    family: "business",
    category: "program completion",
    description: "A person wrote `start <program>`: a worker enrols them.",
    source: "UserActor",
    projected: false,
    schema: EnrollRequested,
  }),
  "program.step": def({
    name: "program.step",
    version: 1,
    family: "business",
    category: "program completion",
    description: "A step of a program ran for a person (its outcome says how).",
    source: "UserActor",
    projected: true,
    schema: ProgramStep,
  }),
  "program.completed": def({
    name: "program.completed",
    version: 1,
    family: "business",
    category: "program completion",
    description: "An end user completed a whole program.",
    source: "UserActor",
    projected: true,
    schema: ProgramCompleted,
  }),
  "badge.awarded": def({
    name: "badge.awarded",
    version: 1,
    family: "business",
    category: "badge earned",
    description: "An end user earned a badge.",
    source: "UserActor",
    projected: true,
    schema: BadgeAwarded,
  }),
  [NUDGE_EVENTS.sent]: def({
    name: NUDGE_EVENTS.sent,
    version: 1,
    family: "business",
    category: "proactive coaching",
    description: "The proactive coach reached out (the delivery is asked for in the same turn).",
    source: "UserActor",
    projected: true,
    schema: NudgeSent,
  }),
  [NUDGE_EVENTS.skipped]: def({
    name: NUDGE_EVENTS.skipped,
    version: 1,
    family: "business",
    category: "proactive coaching",
    description: "A due nudge was not sent, and why (quiet hours, caps, opt-out, channel rules).",
    source: "UserActor",
    projected: true,
    schema: NudgeSkipped,
  }),
  [NUDGE_EVENTS.outcome]: def({
    name: NUDGE_EVENTS.outcome,
    version: 1,
    family: "business",
    category: "proactive coaching",
    description: "What followed a nudge: a reply or an opt-out.",
    source: "UserActor",
    projected: true,
    schema: NudgeOutcome,
  }),
  "subscription.changed": def({
    name: "subscription.changed",
    version: 1,
    family: "business",
    category: "subscription change",
    description: "A creator's plan or subscription status changed (billing).",
    source: "billing",
    projected: true,
    schema: SubscriptionChanged,
  }),
  [DELIVERY_SUBJECT]: def({
    name: DELIVERY_SUBJECT,
    version: 1,
    family: "integration",
    category: "channel message out",
    description: "An actor asks the channels to send a message; the event id is the " +
      "delivery's idempotency key. Delivery health is read from the deliveries it creates.",
    source: "UserActor, ConversationActor",
    projected: false,
    schema: DeliveryRequest,
  }),
  [STATUS_SUBJECT]: def({
    name: STATUS_SUBJECT,
    version: 1,
    family: "integration",
    category: "channel message out",
    description: "A provider's status callback (sent, delivered, read, failed, with pricing), " +
      "applied forward-only to its delivery.",
    source: "webhooks (Telegram, WhatsApp)",
    projected: false,
    schema: ProviderStatus,
  }),
  "webhook.received": def({
    name: "webhook.received",
    version: 1,
    family: "integration",
    category: "webhook received",
    description: "A provider's webhook was received and checked (inbound channel messages " +
      "are counted as `conversation.message` with role `user`).",
    source: "webhooks",
    projected: true,
    schema: WebhookReceived,
  }),
  "system.health": def({
    name: "system.health",
    version: 1,
    family: "system",
    category: "health",
    description: "A component of a node changed health.",
    source: "node",
    projected: false,
    schema: SystemHealth,
  }),
  "system.performance": def({
    name: "system.performance",
    version: 1,
    family: "system",
    category: "performance",
    description: "A sampled performance figure of a node (Prometheus holds the full series).",
    source: "node",
    projected: false,
    schema: SystemPerformance,
  }),
  [indexSubject("memories", "put")]: def({
    name: indexSubject("memories", "put"),
    version: 1,
    family: "system",
    category: "index",
    description: "Embed one conversation memory into the vector index.",
    source: "ConversationActor",
    projected: false,
    schema: IndexPut,
  }),
  [indexSubject("memories", "erase")]: def({
    name: indexSubject("memories", "erase"),
    version: 1,
    family: "system",
    category: "index",
    description: "Forget a conversation's memories.",
    source: "ConversationActor",
    projected: false,
    schema: IndexErase,
  }),
  [indexSubject("profiles", "put")]: def({
    name: indexSubject("profiles", "put"),
    version: 1,
    family: "system",
    category: "index",
    description: "Embed an end user's profile into the vector index.",
    source: "UserActor",
    projected: false,
    schema: IndexPut,
  }),
  [indexSubject("profiles", "erase")]: def({
    name: indexSubject("profiles", "erase"),
    version: 1,
    family: "system",
    category: "index",
    description: "Forget an end user's profile in the vector index.",
    source: "UserActor",
    projected: false,
    schema: IndexErase,
  }),
} as const satisfies Record<string, EventDefinition>;

export type EventName = keyof typeof EVENTS;
export type EventBody<N extends EventName> = z.infer<typeof EVENTS[N]["schema"]>;

/** The definition of `subject` (without the stream prefix), if the catalog has it. */
export function eventDefinition(subject: string): EventDefinition | undefined {
  return (EVENTS as Record<string, EventDefinition>)[subject];
}

/** The events analytics projects. */
export const PROJECTED_EVENTS: string[] = Object.values(EVENTS as Record<string, EventDefinition>)
  .filter((d) => d.projected).map((d) => d.name);
