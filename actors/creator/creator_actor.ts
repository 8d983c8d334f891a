import { z } from "zod";
import { defineActor } from "../../runtime/mod.ts";
import { creatorContract, LiveChannels } from "../contracts/creator.ts";

const CreatorState = z.object({ channels: LiveChannels });

/**
 * CreatorActor, one per creator (id: the creator's id): what the coaching side needs to know of
 * the creator's setup as it changes, starting with which channels are connected (a proactive
 * nudge can only go out on a live channel).
 */
export const creatorActor = defineActor(creatorContract, {
  state: CreatorState,
  initial: (): z.infer<typeof CreatorState> => ({ channels: {} }),
  handlers: {
    channelConnected: (ctx, m) => {
      ctx.state.channels[m.channelId] = { kind: m.kind, since: ctx.now() };
    },
    channelDisconnected: (ctx, m) => {
      delete ctx.state.channels[m.channelId];
    },
    channels: (ctx) => ctx.state.channels,
  },
});
