/**
 * Messages the admin API tells actors when creators change something that affects them (handled
 * by actors/user, actors/conversation and actors/creator). They are written in the change's own
 * transaction (`tellActor`) and published once it commits.
 *
 * | address                                   | kind                  | data                                   |
 * | ----------------------------------------- | --------------------- | -------------------------------------- |
 * | `user` `<creatorId>:<endUserId>`          | `programPublished`    | `{ programId, version }`               |
 * | `user` `<creatorId>:<endUserId>`          | `programUnpublished`  | `{ programId }`                        |
 * | `user` `<creatorId>:<endUserId>`          | `erase`               | `{ reason: "deleted_by_creator" }`     |
 * | `conversation` `<creatorId>:<convId>`     | `erase`               | `{ reason: "deleted_by_creator" }`     |
 * | `creator` `<creatorId>`                   | `channelConnected`    | `{ channelId, kind }`                  |
 * | `creator` `<creatorId>`                   | `channelDisconnected` | `{ channelId, kind }`                  |
 *
 * Each tell carries a deterministic message id, so a retried API call is deduplicated.
 */
import type { ActorAddress } from "../../runtime/mod.ts";

export const userActor = (creatorId: string, endUserId: string): ActorAddress => ({
  type: "user",
  id: `${creatorId}:${endUserId}`,
});

export const creatorActor = (creatorId: string): ActorAddress => ({
  type: "creator",
  id: creatorId,
});

export const conversationActor = (creatorId: string, conversationId: string): ActorAddress => ({
  type: "conversation",
  id: `${creatorId}:${conversationId}`,
});
