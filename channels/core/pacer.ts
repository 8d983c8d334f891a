/**
 * The pacer: one actor per channel connection (a bot, a phone number) that hands out send times.
 * The runtime gives each actor a single owner in the cluster, so a limit per bot holds across
 * every node without a shared lock; delivery workers on any node ask it before they send.
 */
import { z } from "zod";
import { type ActorAddress, defineActor } from "../../runtime/mod.ts";
import { emptySchedule, reserve, type Schedule } from "./send_slots.ts";

const ScheduleState = z.object({
  slots: z.array(z.number()),
  chats: z.record(z.string(), z.number()),
  pausedUntil: z.number(),
});

export const ReserveSlots = z.object({
  chat: z.string().min(1).max(200),
  parts: z.number().int().min(1).max(20),
  notBefore: z.number().optional(),
  perSecond: z.number().positive().max(1000),
  chatIntervalMs: z.number().min(0).max(600_000),
});
export type ReserveSlots = z.infer<typeof ReserveSlots>;

export const PACER_TYPE = "channel_pacer";

/** The pacer of one channel connection. */
export const pacerOf = (connectionId: string): ActorAddress => ({
  type: PACER_TYPE,
  id: connectionId,
});

export const pacerActor = defineActor({
  type: PACER_TYPE,
  state: ScheduleState,
  initial: (): Schedule => emptySchedule(),
  handlers: (h) => ({
    /** Reserves send times for a message's parts; replies `{ at }` (epoch ms, ascending). */
    reserve: h(ReserveSlots, (ctx, m) => {
      const now = ctx.now();
      const out = reserve(ctx.state, {
        chat: m.chat,
        parts: m.parts,
        notBefore: m.notBefore ?? now,
        now,
        limits: { perSecond: m.perSecond, chatIntervalMs: m.chatIntervalMs },
      });
      ctx.state = out.schedule;
      return { at: out.at };
    }),
    /** The provider said slow down (a 429 for the whole connection): no slot before `until`. */
    pause: h(z.object({ until: z.number() }), (ctx, m) => {
      ctx.state.pausedUntil = Math.max(ctx.state.pausedUntil, m.until);
    }),
  }),
});
