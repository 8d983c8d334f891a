import { z } from "zod";
import { defineActor, TerminalError } from "../runtime/mod.ts";

/** Messages kept in a user's history. */
export const HISTORY_LENGTH = 20;

/** State of the benchmark's "user turn" actor. */
export const UserState = z.object({
  /** Messages applied so far. */
  count: z.number().int().nonnegative(),
  /** Runtime time of the last message, in epoch ms (0 before the first). */
  lastSeen: z.number(),
  /** The last {@link HISTORY_LENGTH} messages, oldest first. */
  history: z.array(z.object({ text: z.string(), at: z.number() })),
  /** Nudge reminders fired so far. */
  nudges: z.number().int().nonnegative(),
  /** One `[dueAt, firedAt]` pair per fired nudge, in epoch ms. */
  fired: z.array(z.tuple([z.number(), z.number()])),
});
export type UserState = z.infer<typeof UserState>;

/** What `nudgeStats` replies. */
export interface NudgeStats {
  nudges: number;
  fired: [number, number][];
}

/**
 * The benchmark's "user turn" actor: `message` appends to a bounded history and replies once the
 * turn has committed; `scheduleNudges` sets one durable one-shot reminder per due time, and each
 * `nudge` records when it was due and when it fired.
 */
export const userActor = defineActor({
  type: "bench_user",
  state: UserState,
  initial: (): UserState => ({ count: 0, lastSeen: 0, history: [], nudges: 0, fired: [] }),
  handlers: (h) => ({
    message: h(z.string(), (ctx, text) => {
      const s = ctx.state;
      const at = ctx.now();
      s.history.push({ text, at });
      if (s.history.length > HISTORY_LENGTH) s.history.splice(0, s.history.length - HISTORY_LENGTH);
      s.count += 1;
      s.lastSeen = at;
      return `ok #${s.count}: ${text.slice(0, 16)}`;
    }),
    scheduleNudges: h(
      z.object({ dueAts: z.array(z.number().int().nonnegative()).max(1000) }),
      (ctx, { dueAts }) => {
        // The message id is stable across redeliveries, so a retried turn sets the same names.
        dueAts.forEach((dueAt, i) =>
          ctx.remind(`nudge:${ctx.messageId}:${i}`, { at: dueAt }, { kind: "nudge" })
        );
        return dueAts.length;
      },
    ),
    nudge: h(z.unknown(), (ctx) => {
      if (!ctx.reminder) throw new TerminalError("nudge is only delivered by a reminder");
      ctx.state.nudges += 1;
      ctx.state.fired.push([ctx.reminder.dueAt, ctx.now()]);
    }),
    nudgeStats: h(
      z.null().optional(),
      (ctx): NudgeStats => ({ nudges: ctx.state.nudges, fired: ctx.state.fired }),
    ),
    state: h(z.null().optional(), (ctx): UserState => ctx.state),
  }),
});
