import { z } from "zod";
import { defineActor } from "../../runtime/mod.ts";

const ChannelKind = z.enum(["telegram", "whatsapp", "web_widget"]);
const ChannelEvent = z.object({ channelId: z.string().uuid(), kind: ChannelKind });

const CreatorState = z.object({
  /** The creator's live channels, by connection id. */
  channels: z.record(z.string(), z.object({ kind: ChannelKind, since: z.number() })),
});

/**
 * CreatorActor, one per creator (id: the creator's id): what the coaching side needs to know of
 * the creator's setup as it changes, starting with which channels are connected (a proactive
 * nudge can only go out on a live channel).
 */
export const creatorActor = defineActor({
  type: "creator",
  state: CreatorState,
  initial: (): z.infer<typeof CreatorState> => ({ channels: {} }),
  handlers: (h) => ({
    channelConnected: h(ChannelEvent, (ctx, m) => {
      ctx.state.channels[m.channelId] = { kind: m.kind, since: ctx.now() };
    }),
    channelDisconnected: h(ChannelEvent, (ctx, m) => {
      delete ctx.state.channels[m.channelId];
    }),
    channels: h(z.null().optional(), (ctx) => ctx.state.channels),
  }),
});
