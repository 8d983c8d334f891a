/**
 * The widget benchmark's actor: each `send` asks the channels to deliver a message to one person,
 * stamped with the time of the turn (its commit follows within the same turn), so a socket that
 * receives it can tell how long the way from the actor to the socket took.
 */
import { z } from "zod";
import { defineActor } from "../runtime/mod.ts";
import { DELIVERY_SUBJECT, type DeliveryRequest, turnUuid } from "../actors/mod.ts";

export const fanoutBenchActor = defineActor({
  type: "bench_fanout",
  state: z.object({ sent: z.number() }),
  initial: () => ({ sent: 0 }),
  handlers: (h) => ({
    send: h(
      z.object({ creatorId: z.uuid(), endUserId: z.uuid(), identityId: z.uuid(), n: z.number() }),
      (ctx, m) => {
        ctx.state.sent++;
        const request: DeliveryRequest = {
          id: turnUuid(ctx, "bench"),
          creatorId: m.creatorId,
          endUserId: m.endUserId,
          identityId: m.identityId,
          purpose: "notice",
          text: `bench ${m.n} ${ctx.now()}`,
        };
        ctx.emit(DELIVERY_SUBJECT, request);
      },
    ),
  }),
});
