/**
 * Runs a program's published version step by step inside the UserActor. Steps that show nothing
 * (branch, checkpoint, award_badge) run at once; a message or a question goes out and the next
 * step waits for a durable reminder (a short pause between two messages, the wait's end, the
 * question's timeout) or for the person's answer. Each step and the completion leave as events
 * (`program.step`, `program.completed`, `program.status`) carrying the progress, which the
 * program_progress read model keeps.
 */
import { checkProgramStep } from "../proactive/guards.ts";
import { defaultProactiveSettings } from "../proactive/settings.ts";
import type { ProactiveState } from "../proactive/state.ts";
import type { TurnContext } from "../../../runtime/mod.ts";
import { parseTenantActorId } from "../../ids.ts";
import type { FlowStep } from "../../contracts/program.ts";
import type { Profile } from "../../contracts/user.ts";
import type { ChannelState } from "../inbound.ts";
import { preferencesOf, type StoredPreferences } from "../preferences.ts";
import { type SendResult, sendToUser } from "../outbound.ts";
import { requestBadgeCheck } from "../badges/awards.ts";
import { type Gamification, metricsOf } from "../badges/progress.ts";
import { choicePayload, expectedType, questionText } from "./answers.ts";
import { holds } from "./conditions.ts";
import { timeZoneOf, waitEnds } from "./schedule.ts";
import type { Enrollment, ProgramsState } from "./state.ts";

export const PROGRAM_EVENTS = {
  step: "program.step",
  completed: "program.completed",
  status: "program.status",
} as const;

/** The pause between two messages of a program, so they arrive in order and readably. */
export const PACE_MS = 2000;
/** Steps that show nothing run at most this many in one turn (a branch loop waits a pace). */
const MAX_SILENT_STEPS = 50;

export interface ProgramHost {
  programRuns: ProgramsState;
  profile: Profile;
  indexGen?: string;
  indexVersion?: number;
  gamification: Gamification;
  channels: ChannelState;
  preferences?: StoredPreferences;
  /** The proactive engine's state: the creator's settings as last fetched. */
  proactive?: Pick<ProactiveState, "settings">;
}
export type Ctx = TurnContext<ProgramHost>;

export const reminderName = (programId: string) => `program:${programId}`;

type Question = Extract<FlowStep, { type: "question" }>;

export function stepOf(e: Enrollment, id: string | null): FlowStep | undefined {
  return id === null ? undefined : e.flow.steps.find((s) => s.id === id);
}

/** The step after `step` when it does not branch (undefined: the program ends). */
export function nextOf(step: FlowStep | undefined): string | undefined {
  return step && step.type !== "branch" ? step.next : undefined;
}

/** Runs from step `id` until a step waits or the program ends. */
export function runFrom(ctx: Ctx, e: Enrollment, id: string | undefined): void {
  let stepId = id;
  for (let silent = 0;; silent++) {
    if (silent >= MAX_SILENT_STEPS) return pace(ctx, e, stepId);
    const step = stepId === undefined ? undefined : stepOf(e, stepId);
    if (!step) return complete(ctx, e);
    e.step = step.id;
    e.seq++;
    e.waiting = null;
    e.updatedAt = ctx.now();
    switch (step.type) {
      case "message":
        if (held(ctx, e, step, say(ctx, e, step.text, `${step.id}`))) return;
        emitStep(ctx, e, step, "sent");
        if (step.next === undefined) return complete(ctx, e);
        return pace(ctx, e, step.next);
      case "question":
        return ask(ctx, e, step, { again: false });
      case "wait": {
        const until = waitEnds(step, ctx.now(), timeZoneOf(ctx.state));
        wakeAt(ctx, e, "time", until, step.next);
        return emitStep(ctx, e, step, "waiting", { until });
      }
      case "branch": {
        const facts = {
          enrollment: e,
          profile: ctx.state.profile,
          metrics: metricsOf(ctx.state.gamification, ctx.now(), timeZoneOf(ctx.state)),
        };
        const taken = step.cases.find((c) => holds(c.when, facts));
        stepId = taken?.next ?? step.otherwise;
        emitStep(ctx, e, step, "branched", { to: stepId });
        continue;
      }
      case "award_badge":
        requestBadgeCheck(ctx, { award: step.badge_id });
        emitStep(ctx, e, step, "awarded", { badgeId: step.badge_id });
        stepId = step.next;
        continue;
      case "checkpoint":
        if (!e.checkpoints.includes(step.name)) {
          e.checkpoints.push(step.name);
          ctx.state.gamification.checkpointsReached++;
          requestBadgeCheck(ctx);
        }
        emitStep(ctx, e, step, "reached", { checkpoint: step.name });
        stepId = step.next;
        continue;
    }
  }
}

/** Sends a question and waits for its answer (or its timeout). */
export function ask(ctx: Ctx, e: Enrollment, q: Question, { again }: { again: boolean }): void {
  const buttons = expectedType(q) === "choice"
    ? (q.choices ?? []).slice(0, 10).map((label, i) => ({
      label: label.slice(0, 60),
      payload: choicePayload(q.id, i),
    }))
    : undefined;
  const sent = say(
    ctx,
    e,
    questionText(q, { again }),
    `${q.id}:${again ? "again" : "ask"}`,
    buttons,
  );
  if (held(ctx, e, q, sent)) return;
  const until = q.timeout_hours ? ctx.now() + Math.round(q.timeout_hours * 3_600_000) : null;
  wakeAt(ctx, e, "answer", until, q.next);
  e.waiting!.reasked = again;
  emitStep(ctx, e, q, again ? "reasked" : "asked");
}

/** The program's current step is done waiting: move on to the step it leads to. */
export function proceed(ctx: Ctx, e: Enrollment): void {
  const then = e.waiting?.then ?? undefined;
  e.waiting = null;
  runFrom(ctx, e, then);
}

/** The next step comes after a short pause, driven by a reminder. */
function pace(ctx: Ctx, e: Enrollment, next: string | undefined): void {
  if (next === undefined) return complete(ctx, e);
  wakeAt(ctx, e, "pace", ctx.now() + PACE_MS, next);
}

function wakeAt(
  ctx: Ctx,
  e: Enrollment,
  kind: "answer" | "time" | "pace",
  until: number | null,
  then: string | undefined,
) {
  e.waiting = { kind, until, reasked: false, then: then ?? null };
  if (until === null) ctx.cancelReminder(reminderName(e.programId));
  else {
    ctx.remind(reminderName(e.programId), { at: until }, {
      kind: "programTick",
      data: { programId: e.programId, seq: e.seq },
    });
  }
}

export function complete(ctx: Ctx, e: Enrollment): void {
  e.status = "completed";
  e.step = null;
  e.waiting = null;
  e.completedAt = ctx.now();
  e.updatedAt = ctx.now();
  ctx.cancelReminder(reminderName(e.programId));
  ctx.state.gamification.programsCompleted++;
  emit(ctx, e, PROGRAM_EVENTS.completed, {});
  requestBadgeCheck(ctx);
}

/**
 * A message that may not go out now and says when it may (`retryAt`, e.g. the end of quiet
 * hours) holds the program: the same step runs again then. One that will not go out at all is
 * recorded, and the program goes on.
 */
function held(ctx: Ctx, e: Enrollment, step: FlowStep, r: SendResult): boolean {
  if (r.sent) return false;
  if (r.retryAt === undefined) {
    emitStep(ctx, e, step, "not_sent", { reason: r.reason });
    return false;
  }
  wakeAt(ctx, e, "pace", Math.max(r.retryAt, ctx.now()), step.id);
  emitStep(ctx, e, step, "deferred", { reason: r.reason, until: r.retryAt });
  return true;
}

function say(
  ctx: Ctx,
  e: Enrollment,
  text: string,
  key: string,
  buttons?: { label: string; payload: string }[],
): SendResult {
  const v = checkProgramStep({
    now: ctx.now(),
    settings: ctx.state.proactive?.settings?.value ?? defaultProactiveSettings(),
    preferences: preferencesOf(ctx.state),
    channels: ctx.state.channels,
  });
  if (!v.ok) return { sent: false, reason: v.reason, ...(v.retryAt ? { retryAt: v.retryAt } : {}) };
  return sendToUser(ctx, {
    purpose: "program",
    key: `program:${e.programId}:${e.seq}:${key}`,
    text,
    ...(buttons ? { buttons } : {}),
  });
}

export function emitStep(
  ctx: Ctx,
  e: Enrollment,
  step: FlowStep,
  outcome: string,
  extra: Record<string, unknown> = {},
): void {
  emit(ctx, e, PROGRAM_EVENTS.step, { stepId: step.id, stepType: step.type, outcome, ...extra });
}

export function emitStatus(ctx: Ctx, e: Enrollment, change: string): void {
  emit(ctx, e, PROGRAM_EVENTS.status, { change });
}

function emit(ctx: Ctx, e: Enrollment, subject: string, extra: Record<string, unknown>) {
  const { creatorId, localId: endUserId } = parseTenantActorId(ctx.self.id);
  e.rev++;
  ctx.emit(subject, {
    creatorId,
    endUserId,
    programId: e.programId,
    version: e.version,
    seq: e.seq,
    at: ctx.now(),
    ...extra,
    progress: progressOf(e),
  });
}

/** The progress as the read model and the admin API show it. */
export function progressOf(e: Enrollment) {
  return {
    programId: e.programId,
    name: e.name,
    version: e.version,
    status: e.status,
    currentStep: e.step,
    answers: e.answers,
    checkpoints: e.checkpoints,
    rev: e.rev,
    startedAt: e.startedAt,
    updatedAt: e.updatedAt,
    completedAt: e.completedAt,
  };
}
