/**
 * The UserActor's program handlers: enrolment (by the person, their creator, or a trigger), the
 * reminder that drives the next step, the person's answers, and pause, resume, skip, restart and
 * unenrol.
 */
import { parseTenantActorId } from "../../ids.ts";
import type { Inbound } from "../../contracts/inbound.ts";
import type { FlowDefinition } from "../../contracts/program.ts";
import { sendToUser } from "../outbound.ts";
import { readAnswer } from "./answers.ts";
import {
  ask,
  type Ctx,
  emitStatus,
  emitStep,
  proceed,
  progressOf,
  reminderName,
  runFrom,
  stepOf,
} from "./engine.ts";
import { PROGRAM_NOTICES } from "./notices.ts";
import type { Enrollment } from "./state.ts";

export const PROGRAM_CONTROLS = ["pause", "resume", "skip", "restart", "unenroll"] as const;
export type ProgramControl = typeof PROGRAM_CONTROLS[number];

/** The event a person's "start <program>" leaves for the catalog worker to resolve. */
export const ENROLL_REQUESTED = "program.enroll_requested";

export interface EnrollMessage {
  programId: string;
  version: number;
  name: string;
  flow: FlowDefinition;
  by: "user" | "creator" | "trigger";
  restart?: boolean;
}

/** Starts a program's version unless the person is already in it (then `restart` starts over). */
export function enroll(ctx: Ctx, m: EnrollMessage): { status: "enrolled" | "already_enrolled" } {
  const runs = ctx.state.programRuns;
  const before = runs.enrollments[m.programId];
  if (before && (before.status === "active" || before.status === "paused") && !m.restart) {
    if (m.by === "user") note(ctx, "already", PROGRAM_NOTICES.already(before.name));
    return { status: "already_enrolled" };
  }
  const now = ctx.now();
  const e: Enrollment = {
    programId: m.programId,
    name: m.name,
    version: m.version,
    flow: m.flow,
    status: "active",
    step: null,
    waiting: null,
    answers: {},
    checkpoints: [],
    // Kept across runs: reminders and events of an earlier run never match this one.
    seq: before?.seq ?? 0,
    rev: before?.rev ?? 0,
    enrolledBy: m.by,
    startedAt: now,
    updatedAt: now,
    completedAt: null,
    pausedRemainingMs: null,
  };
  runs.enrollments[m.programId] = e;
  runs.current = m.programId;
  emitStatus(ctx, e, before ? "restarted" : "enrolled");
  runFrom(ctx, e, m.flow.start);
  return { status: "enrolled" };
}

/** A program's reminder: the wait, pause or question timeout it was set for is over. */
export function tick(ctx: Ctx, m: { programId: string; seq: number }): void {
  const e = ctx.state.programRuns.enrollments[m.programId];
  // A reminder of a step that was skipped, paused or restarted since is stale.
  if (!e || e.status !== "active" || e.seq !== m.seq || !e.waiting) return;
  if (e.waiting.kind === "answer") {
    const step = stepOf(e, e.step);
    if (step) emitStep(ctx, e, step, "timed_out");
  }
  proceed(ctx, e);
}

/** Pause, resume, skip, restart or unenrol; by default the program last active. */
export function control(
  ctx: Ctx,
  m: { programId?: string; action: ProgramControl; quiet?: boolean },
): { status: string; programId?: string } {
  const runs = ctx.state.programRuns;
  const id = m.programId ?? runs.current ?? undefined;
  const e = id ? runs.enrollments[id] : undefined;
  const tell = (key: string, text: string) => m.quiet || note(ctx, key, text);
  if (!e || e.status === "completed" || e.status === "unenrolled") {
    if (m.action === "restart" && e) return restart(ctx, e, tell);
    tell("none", PROGRAM_NOTICES.none);
    return { status: "not_enrolled" };
  }
  runs.current = e.programId;
  const now = ctx.now();
  e.updatedAt = now;
  switch (m.action) {
    case "pause": {
      if (e.status === "paused") return { status: "paused", programId: e.programId };
      e.status = "paused";
      const until = e.waiting?.until;
      e.pausedRemainingMs = until != null ? Math.max(0, until - now) : null;
      ctx.cancelReminder(reminderName(e.programId));
      emitStatus(ctx, e, "paused");
      tell("paused", PROGRAM_NOTICES.paused(e.name));
      return { status: "paused", programId: e.programId };
    }
    case "resume": {
      if (e.status === "active") return { status: "active", programId: e.programId };
      e.status = "active";
      emitStatus(ctx, e, "resumed");
      tell("resumed", PROGRAM_NOTICES.resumed(e.name));
      const w = e.waiting;
      const step = stepOf(e, e.step);
      if (w?.kind === "answer" && step?.type === "question") ask(ctx, e, step, { again: false });
      else if (w && e.pausedRemainingMs !== null) {
        w.until = now + e.pausedRemainingMs;
        ctx.remind(reminderName(e.programId), { at: w.until }, {
          kind: "programTick",
          data: { programId: e.programId, seq: e.seq },
        });
      } else proceed(ctx, e);
      e.pausedRemainingMs = null;
      return { status: "active", programId: e.programId };
    }
    case "skip": {
      const step = stepOf(e, e.step);
      if (step) emitStep(ctx, e, step, "skipped");
      ctx.cancelReminder(reminderName(e.programId));
      e.status = "active";
      e.pausedRemainingMs = null;
      proceed(ctx, e);
      return { status: e.status, programId: e.programId };
    }
    case "restart":
      return restart(ctx, e, tell);
    case "unenroll":
      e.status = "unenrolled";
      e.waiting = null;
      ctx.cancelReminder(reminderName(e.programId));
      emitStatus(ctx, e, "unenrolled");
      tell("unenrolled", PROGRAM_NOTICES.unenrolled(e.name));
      return { status: "unenrolled", programId: e.programId };
  }
}

function restart(ctx: Ctx, e: Enrollment, tell: (key: string, text: string) => unknown) {
  ctx.cancelReminder(reminderName(e.programId));
  tell("restarted", PROGRAM_NOTICES.restarted(e.name));
  // The version they started with: a newer one comes with the next enrolment by the creator.
  enroll(ctx, {
    programId: e.programId,
    version: e.version,
    name: e.name,
    flow: e.flow,
    by: e.enrolledBy,
    restart: true,
  });
  return { status: "active", programId: e.programId };
}

/**
 * What a message the person sent means for their programs: "start <program>" (or its button),
 * a control command, or the answer to the question waiting. Returns true when it was that, so it
 * is not also handed to the conversation.
 */
export function onProgramInbound(ctx: Ctx, m: Inbound): boolean {
  const c = m.content;
  const text = c.type === "text" ? c.text.trim() : c.type === "button" ? c.payload : "";
  const command = c.type === "command" ? c.command.toLowerCase() : undefined;
  // "/start <program>" (a deep link), "start <program>", or a program's start button.
  const startArg = command === "start"
    ? c.type === "command" && c.args.trim()
    : /^program:start:(.+)$/.exec(text)?.[1] ?? /^start\s+(.+)$/i.exec(text)?.[1];
  if (startArg) {
    // `/start` opts back in, with or without a program (as the intake records it too).
    if (command === "start") ctx.state.channels.optedOut = false;
    const { creatorId, localId: endUserId } = parseTenantActorId(ctx.self.id);
    ctx.emit(ENROLL_REQUESTED, {
      creatorId,
      endUserId,
      query: startArg.trim().slice(0, 200),
      identityId: m.identityId,
    });
    return true;
  }
  const word = command ?? /^program:([a-z]+)$/.exec(text)?.[1];
  const action = word === "quit" ? "unenroll" : word;
  if (action && (PROGRAM_CONTROLS as readonly string[]).includes(action)) {
    control(ctx, { action: action as ProgramControl });
    return true;
  }
  // Other commands (/help, /stop) and what it cannot read are the inbound's.
  if (command || !text) return false;
  const waitingOne = waitingForAnswer(ctx);
  // A choice button of a question no longer waiting: nothing for the coach to answer.
  if (!waitingOne) return c.type === "button" && /^a:[a-z0-9_-]+:\d+$/.test(text);
  if (/^skip$/i.test(text)) {
    control(ctx, { programId: waitingOne.programId, action: "skip", quiet: true });
    return true;
  }
  return answer(ctx, waitingOne, text);
}

function waitingForAnswer(ctx: Ctx): Enrollment | undefined {
  const runs = ctx.state.programRuns;
  const all = Object.values(runs.enrollments).filter((e) =>
    e.status === "active" && e.waiting?.kind === "answer"
  );
  return all.find((e) => e.programId === runs.current) ?? all[0];
}

function answer(ctx: Ctx, e: Enrollment, text: string): boolean {
  const q = stepOf(e, e.step);
  if (q?.type !== "question") return false;
  const value = readAnswer(q, text);
  if (value === undefined) {
    if (!e.waiting!.reasked) {
      ask(ctx, e, q, { again: true });
      return true;
    }
    // Asked twice: the program moves on, and what they wrote goes to the coach as usual.
    emitStep(ctx, e, q, "unanswered");
    proceed(ctx, e);
    return false;
  }
  e.answers[q.variable] = value;
  ctx.state.profile = {
    ...ctx.state.profile,
    preferences: { ...ctx.state.profile.preferences, [q.variable]: String(value).slice(0, 300) },
  };
  ctx.state.gamification.questionsAnswered++;
  emitStep(ctx, e, q, "answered", { variable: q.variable, value });
  proceed(ctx, e);
  return true;
}

/** A "start <program>" the catalog could not match. */
export function notFound(ctx: Ctx, m: { query: string }): void {
  note(ctx, "not-found", PROGRAM_NOTICES.notFound(m.query));
}

export function enrollmentsOf(ctx: Ctx) {
  return Object.values(ctx.state.programRuns.enrollments).map(progressOf);
}

function note(ctx: Ctx, key: string, text: string) {
  sendToUser(ctx, { purpose: "notice", key: `program-notice:${key}`, text });
}
