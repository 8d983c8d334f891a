/**
 * A program's flow: named steps the UserActor walks through. Each step names the next one
 * (`next`), a branch picks it from conditions on the answers, profile or progress; a step
 * without `next` ends the program. The admin API validates drafts with these schemas (it adds
 * their OpenAPI names) and the actor keeps the published version's copy it started with.
 */
import { z } from "zod";

const StepId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "lowercase letters, digits, _ and -");
const base = { id: StepId, next: StepId.optional() };
const ClockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "HH:MM");

export const WEEKDAYS = [
  "monday",
  "tuesday",
  "wednesday",
  "thursday",
  "friday",
  "saturday",
  "sunday",
] as const;

export const Condition = z.strictObject({
  /** An answer's variable, `profile.<field>`, a preference key, or a progress metric. */
  variable: z.string().min(1).max(64),
  op: z.enum(["eq", "neq", "contains", "gt", "gte", "lt", "lte", "answered"]),
  value: z.union([z.string().max(500), z.number(), z.boolean()]).optional(),
});
export type Condition = z.infer<typeof Condition>;

/** What a question expects back; a reply that is not one is asked again once. */
export const AnswerType = z.enum(["choice", "number", "scale", "text", "time"]);
export type AnswerType = z.infer<typeof AnswerType>;

export const FlowStep = z.discriminatedUnion("type", [
  z.strictObject({ ...base, type: z.literal("message"), text: z.string().min(1).max(4000) }),
  z.strictObject({
    ...base,
    type: z.literal("question"),
    text: z.string().min(1).max(4000),
    /** Where the answer is kept (the program's answers and the profile's preferences). */
    variable: z.string().min(1).max(64),
    /** Default: `choice` when there are choices, else `text`. */
    expect: AnswerType.optional(),
    choices: z.array(z.string().min(1).max(200)).max(20).optional(),
    /** Bounds of a `number` or `scale` answer (a scale defaults to 1–5). */
    min: z.number().optional(),
    max: z.number().optional(),
    /** Without an answer by then, the program moves on. */
    timeout_hours: z.number().positive().max(24 * 30).optional(),
  }),
  z.strictObject({
    ...base,
    type: z.literal("wait"),
    /** A duration to wait. */
    hours: z.number().positive().max(24 * 365).optional(),
    /** Local time of day to resume at, in the user's time zone (after `hours`, if given). */
    at: ClockTime.optional(),
    /** With `at`: the next such weekday ("next Monday 09:00"). */
    weekday: z.enum(WEEKDAYS).optional(),
  }),
  z.strictObject({
    id: StepId,
    type: z.literal("branch"),
    cases: z.array(z.strictObject({ when: Condition, next: StepId })).min(1).max(20),
    otherwise: StepId,
  }),
  z.strictObject({ ...base, type: z.literal("award_badge"), badge_id: z.uuid() }),
  z.strictObject({ ...base, type: z.literal("checkpoint"), name: z.string().min(1).max(200) }),
]);
export type FlowStep = z.infer<typeof FlowStep>;

export const FlowDefinition = z.strictObject({
  start: StepId,
  steps: z.array(FlowStep).min(1).max(500),
}).superRefine((flow, ctx) => {
  const ids = new Map<string, number>();
  flow.steps.forEach((step, i) => {
    if (ids.has(step.id)) {
      ctx.addIssue({
        code: "custom",
        path: ["steps", i, "id"],
        message: `duplicate step id ${step.id}`,
      });
    }
    ids.set(step.id, i);
    if (step.type === "wait" && step.hours === undefined && step.at === undefined) {
      ctx.addIssue({ code: "custom", path: ["steps", i, "hours"], message: "hours or at" });
    }
    if (step.type === "wait" && step.weekday && !step.at) {
      ctx.addIssue({ code: "custom", path: ["steps", i, "at"], message: "a weekday needs at" });
    }
  });
  if (!ids.has(flow.start)) {
    ctx.addIssue({ code: "custom", path: ["start"], message: `no step ${flow.start}` });
  }
  flow.steps.forEach((step, i) => {
    const targets: Array<[string | undefined, (string | number)[]]> = step.type === "branch"
      ? [
        ...step.cases.map((c, j): [string, (string | number)[]] => [c.next, ["cases", j, "next"]]),
        [step.otherwise, ["otherwise"]],
      ]
      : [[step.next, ["next"]]];
    for (const [target, path] of targets) {
      if (target !== undefined && !ids.has(target)) {
        ctx.addIssue({ code: "custom", path: ["steps", i, ...path], message: `no step ${target}` });
      }
    }
  });
});
export type FlowDefinition = z.infer<typeof FlowDefinition>;

/** Badge ids a flow awards, to check they exist when it is published. */
export function awardedBadges(flow: FlowDefinition): string[] {
  return flow.steps.flatMap((s) => s.type === "award_badge" ? [s.badge_id] : []);
}
