/**
 * What the UserActor keeps of each program a person follows: the published version they started
 * with (its flow copied in, so a newer version never changes a run in progress), where they are,
 * and what they answered.
 */
import { z } from "zod";
import { FlowDefinition } from "../../contracts/program.ts";

export const EnrollmentStatus = z.enum(["active", "paused", "completed", "unenrolled"]);
export type EnrollmentStatus = z.infer<typeof EnrollmentStatus>;

export const Answer = z.union([z.string(), z.number()]);

export const Enrollment = z.object({
  programId: z.string().uuid(),
  name: z.string(),
  version: z.number().int(),
  flow: FlowDefinition,
  status: EnrollmentStatus,
  /** The step the person is on (null once completed). */
  step: z.string().nullable(),
  /** Set while the current step waits: a question for its answer, a wait for its time. */
  waiting: z.object({
    kind: z.enum(["answer", "time", "pace"]),
    /** When it ends (the wait's time, the question's timeout); null: no timeout. */
    until: z.number().nullable(),
    reasked: z.boolean(),
    /** The step that follows once it ends (null: the program ends). */
    then: z.string().nullable(),
  }).nullable(),
  answers: z.record(z.string(), Answer),
  checkpoints: z.array(z.string()),
  /** Steps run in this enrollment; names the reminder that drives the next one. */
  seq: z.number().int(),
  /** Grows with every change, across restarts: read models keep the newest. */
  rev: z.number().int(),
  enrolledBy: z.enum(["user", "creator", "trigger"]),
  startedAt: z.number(),
  updatedAt: z.number(),
  completedAt: z.number().nullable(),
  /** Remaining time of a wait when paused, resumed from there. */
  pausedRemainingMs: z.number().nullable().default(null),
});
export type Enrollment = z.infer<typeof Enrollment>;

/** Every program of the person by id, with the one controls apply to by default. */
export const ProgramsState = z.object({
  enrollments: z.record(z.string(), Enrollment),
  /** The program the person last did something in. */
  current: z.string().nullable(),
});
export type ProgramsState = z.infer<typeof ProgramsState>;

export const emptyProgramsState = (): ProgramsState => ({ enrollments: {}, current: null });
