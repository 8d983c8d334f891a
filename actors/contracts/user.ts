import { z } from "zod";
import { defineContract } from "../../runtime/mod.ts";
import { tenantActorId } from "../ids.ts";
import { Erase, NoData } from "./common.ts";
import { Inbound } from "./inbound.ts";
import { Channel } from "./channel.ts";
import { NudgeTrigger } from "../user/proactive/events.ts";
import { FlowDefinition } from "./program.ts";

/** What the coach knows about an end user; retrieval and prompts read it. */
export const Profile = z.object({
  name: z.string().optional(),
  goals: z.array(z.string().max(300)).max(20),
  preferences: z.record(z.string(), z.string().max(300)),
  /** BCP 47 tag of the language the user writes in. */
  language: z.string().max(35),
  /** Topics (document titles) the user asked about most recently, newest first. */
  topics: z.array(z.string()).max(20),
});
export type Profile = z.infer<typeof Profile>;

/** A change to the profile: lists replace, preferences merge, absent fields stay. */
export const ProfileUpdate = z.object({
  name: z.string().max(200).optional(),
  goals: z.array(z.string().max(300)).max(20).optional(),
  preferences: z.record(z.string(), z.string().max(300)).optional(),
  language: z.string().max(35).optional(),
});
export type ProfileUpdate = z.infer<typeof ProfileUpdate>;

/** The published version of each program the user follows (null once it is unpublished). */
export const ProgramVersions = z.record(
  z.string(),
  z.object({ version: z.number().int().nullable(), at: z.number() }),
);
export type ProgramVersions = z.infer<typeof ProgramVersions>;

const ClockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "a time of day as HH:MM");

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** An IANA time zone name such as `Europe/Paris`. */
export const TimeZone = z.string().max(64).refine(
  isTimeZone,
  "an IANA time zone such as Europe/Paris",
);

/**
 * How the person wants the coach to reach out. Set by the person (widget, app, commands) or
 * their creator; the proactive engine reads it at send time.
 */
export const Preferences = z.object({
  /** Where the person lives; absent until learned or set (the creator's zone is used). */
  timeZone: TimeZone.optional(),
  /** No proactive message between these local times (default 21:00–08:00). */
  quietHours: z.object({ start: ClockTime, end: ClockTime }),
  /** The channel for proactive messages; absent: the one the person was last active on. */
  nudgeChannel: Channel.optional(),
  /** False once the person opted out (STOP, the widget's switch, the app's preference). */
  proactive: z.boolean(),
});
export type Preferences = z.infer<typeof Preferences>;

/** A change to the preferences: absent fields stay, `nudgeChannel: null` goes back to automatic. */
export const PreferencesUpdate = z.object({
  timeZone: TimeZone.optional(),
  quietHours: z.object({ start: ClockTime, end: ClockTime }).optional(),
  nudgeChannel: Channel.nullable().optional(),
  proactive: z.boolean().optional(),
}).strict();
export type PreferencesUpdate = z.infer<typeof PreferencesUpdate>;

/** A proactive check falling due (what the proactive engine's reminders deliver). */
export const ProactiveCheck = z.object({
  trigger: NudgeTrigger,
  milestone: z.number().int().optional(),
  programId: z.string().max(200).optional(),
  stepId: z.string().max(200).optional(),
  text: z.string().min(1).max(4000).optional(),
});
export type ProactiveCheck = z.infer<typeof ProactiveCheck>;

/** A program's step is due (told by the program engine): sent as a nudge, under every guard. */
export const ProgramStepDue = z.object({
  programId: z.string().max(200),
  stepId: z.string().max(200),
  text: z.string().min(1).max(4000),
});
export type ProgramStepDue = z.infer<typeof ProgramStepDue>;

export const DEFAULT_QUIET_HOURS = { start: "21:00", end: "08:00" } as const;

const ProgramId = z.string().uuid();

/** A person's progress in one program, as the actor reports it. */
export const ProgramProgress = z.object({
  programId: ProgramId,
  name: z.string(),
  version: z.number().int(),
  status: z.enum(["active", "paused", "completed", "unenrolled"]),
  currentStep: z.string().nullable(),
  answers: z.record(z.string(), z.union([z.string(), z.number()])),
  checkpoints: z.array(z.string()),
  rev: z.number().int(),
  startedAt: z.number(),
  updatedAt: z.number(),
  completedAt: z.number().nullable(),
});
export type ProgramProgress = z.infer<typeof ProgramProgress>;

/** Enrols the person in a published version of a program (its flow comes with it). */
export const Enroll = z.object({
  programId: ProgramId,
  version: z.number().int().min(1),
  name: z.string().max(200),
  flow: FlowDefinition,
  by: z.enum(["user", "creator", "trigger"]),
  /** Start over when already in it (otherwise an enrolment in progress stays as it is). */
  restart: z.boolean().optional(),
});
export type Enroll = z.infer<typeof Enroll>;

export const ProgramControlAction = z.enum(["pause", "resume", "skip", "restart", "unenroll"]);

/**
 * The messages of the UserActor, one per end user per creator (id `<creatorId>:<endUserId>`).
 * Told by the admin API (programs, erasure), by the channels' intake (what the person sends) and by
 * the ConversationActor (topics); asked by the answerer (profile).
 */
export const userContract = defineContract("user", {
  getProfile: { input: NoData, reply: Profile },
  updateProfile: { input: ProfileUpdate, reply: Profile },
  /** Document titles the user just asked about (most relevant first). */
  noteTopics: { input: z.array(z.string().max(300)).max(10) },
  /** A program the user is enrolled in has a new published version. */
  programPublished: {
    input: z.object({ programId: z.string().uuid(), version: z.number().int().min(1) }),
  },
  programUnpublished: { input: z.object({ programId: z.string().uuid() }) },
  getPrograms: { input: NoData, reply: ProgramVersions },
  getPreferences: { input: NoData, reply: Preferences },
  updatePreferences: { input: PreferencesUpdate, reply: Preferences },
  /** Forget the profile, its embedding and every reminder. */
  erase: { input: Erase },
  enroll: {
    input: Enroll,
    reply: z.object({ status: z.enum(["enrolled", "already_enrolled"]) }),
  },
  /** Pause, resume, skip, restart or unenrol (by default the program last active). */
  programControl: {
    input: z.object({ programId: ProgramId.optional(), action: ProgramControlAction }),
    reply: z.object({ status: z.string(), programId: ProgramId.optional() }),
  },
  /** A program's durable reminder: its current wait is over. */
  programTick: { input: z.object({ programId: ProgramId, seq: z.number().int() }) },
  /** The person asked to start a program the catalog does not have (published). */
  programNotFound: { input: z.object({ query: z.string().max(200) }) },
  getEnrollments: { input: NoData, reply: z.array(ProgramProgress) },
  /** A badge whose criteria the person meets (or a flow awards): awarded once. */
  awardBadge: {
    input: z.object({
      badgeId: z.string().uuid(),
      name: z.string().max(200),
      message: z.string().max(2000).nullable().optional(),
    }),
    reply: z.object({ awarded: z.boolean() }),
  },
  getBadges: {
    input: NoData,
    reply: z.object({
      awarded: z.array(z.string()),
      achievements: z.array(z.string()),
      metrics: z.record(z.string(), z.number()),
    }),
  },
  /** The learned profile: language, mood, active hours, drop-off risk and its reasons. */
  getInsights: { input: NoData, reply: z.record(z.string(), z.unknown()) },
  /** The daily reminder that reports the learned profile while the person is away. */
  profileRefresh: { input: NoData },
  /** A message the person sent on a channel (told by the channels' intake). */
  inbound: { input: Inbound },
  /** The burst debounce is over: the messages gathered go to the conversation as one. */
  flushInbound: { input: NoData },
  /** A reminder of the proactive engine fell due. */
  proactiveCheck: { input: ProactiveCheck },
  /** A program step is due: it goes out as a nudge once the guards allow. */
  programStepDue: { input: ProgramStepDue },
  /** What the proactive engine learned and sent (rhythm, streak, recent nudges). */
  getProactive: { input: NoData, reply: z.record(z.string(), z.unknown()) },
});

/** Any message of the UserActor, `{ kind, data }`. */
export const UserMessage = userContract.schema;
export type UserMessage = z.infer<typeof UserMessage>;

/** The UserActor of one end user of one creator. */
export function userAddress(creatorId: string, endUserId: string) {
  return userContract.address(tenantActorId(creatorId, endUserId));
}
