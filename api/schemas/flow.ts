import { z } from "@hono/zod-openapi";

/**
 * A program's flow: named steps the user actor walks through. Each step names the next one
 * (`next`), a branch picks it from conditions on the answers collected so far; a step without
 * `next` ends the program.
 */
const StepId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "lowercase letters, digits, _ and -");
const base = { id: StepId, next: StepId.optional() };

export const Condition = z.strictObject({
  variable: z.string().min(1).max(64),
  op: z.enum(["eq", "neq", "contains", "gt", "gte", "lt", "lte", "answered"]),
  value: z.union([z.string().max(500), z.number(), z.boolean()]).optional(),
});

export const FlowStep = z.discriminatedUnion("type", [
  z.strictObject({ ...base, type: z.literal("message"), text: z.string().min(1).max(4000) }),
  z.strictObject({
    ...base,
    type: z.literal("question"),
    text: z.string().min(1).max(4000),
    variable: z.string().min(1).max(64),
    choices: z.array(z.string().min(1).max(200)).max(20).optional(),
    timeout_hours: z.number().positive().max(24 * 30).optional(),
  }),
  z.strictObject({
    ...base,
    type: z.literal("wait"),
    hours: z.number().positive().max(24 * 365),
    /** Local time of day to resume at, in the user's timezone. */
    at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "HH:MM").optional(),
  }),
  z.strictObject({
    id: StepId,
    type: z.literal("branch"),
    cases: z.array(z.strictObject({ when: Condition, next: StepId })).min(1).max(20),
    otherwise: StepId,
  }),
  z.strictObject({ ...base, type: z.literal("award_badge"), badge_id: z.uuid() }),
  z.strictObject({ ...base, type: z.literal("checkpoint"), name: z.string().min(1).max(200) }),
]).openapi("FlowStep");
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
}).openapi("FlowDefinition");
export type FlowDefinition = z.infer<typeof FlowDefinition>;

/** Badge ids a flow awards, to check they exist when it is published. */
export function awardedBadges(flow: FlowDefinition): string[] {
  return flow.steps.flatMap((s) => s.type === "award_badge" ? [s.badge_id] : []);
}
