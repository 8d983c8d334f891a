/**
 * Stands in for the ConversationActor where answers do not matter (the proactive engine's tests
 * and the simulation): it counts the messages it is told and shows a handoff when told to.
 */
import { z } from "zod";
import { defineActor } from "../../runtime/mod.ts";
import { Handoff } from "../../actors/contracts/conversation.ts";

export const conversationStub = defineActor({
  type: "conversation",
  state: z.object({ messages: z.number(), handoff: Handoff.nullable() }),
  initial: () => ({ messages: 0, handoff: null as z.infer<typeof Handoff> | null }),
  handlers: (h) => ({
    message: h(z.record(z.string(), z.unknown()), (ctx) => void ctx.state.messages++),
    get: h(z.unknown(), (ctx) => ({
      userId: null,
      channel: null,
      turns: [],
      summary: "",
      handoff: ctx.state.handoff,
      turnCount: ctx.state.messages,
    })),
    setHandoff: h(z.boolean(), (ctx, on) => {
      ctx.state.handoff = on ? { reason: "asked", at: ctx.now() } : null;
    }),
  }),
});
