import { z } from "zod";
import { defineContract } from "../../runtime/mod.ts";
import { Channel } from "./channel.ts";
import { NoData } from "./common.ts";

/** A channel connection of the creator that went live or stopped. */
export const ChannelChange = z.object({ channelId: z.string().uuid(), kind: Channel });
export type ChannelChange = z.infer<typeof ChannelChange>;

/** The creator's live channels, by connection id. */
export const LiveChannels = z.record(
  z.string(),
  z.object({ kind: Channel, since: z.number() }),
);
export type LiveChannels = z.infer<typeof LiveChannels>;

/** The messages of the CreatorActor, one per creator (id: the creator's id). */
export const creatorContract = defineContract("creator", {
  channelConnected: { input: ChannelChange },
  channelDisconnected: { input: ChannelChange },
  channels: { input: NoData, reply: LiveChannels },
});

/** Any message of the CreatorActor, `{ kind, data }`. */
export const CreatorMessage = creatorContract.schema;
export type CreatorMessage = z.infer<typeof CreatorMessage>;

/** The CreatorActor of one creator. */
export function creatorAddress(creatorId: string) {
  return creatorContract.address(creatorId);
}
