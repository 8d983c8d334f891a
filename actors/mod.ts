import type { AnyActorDefinition } from "../runtime/mod.ts";
import { type Knowledge } from "../knowledge/mod.ts";
import { conversationActor } from "./conversation/conversation_actor.ts";
import { userActor } from "./user/user_actor.ts";
import { creatorActor } from "./creator/creator_actor.ts";

export { conversationActor, type ConversationReply } from "./conversation/conversation_actor.ts";
export { userActor } from "./user/user_actor.ts";
export { creatorActor } from "./creator/creator_actor.ts";
export { parseTenantActorId, tenantActorId } from "./ids.ts";

/** Every actor type a Coachd node hosts, wired to the node's knowledge services. */
export function coachingActors({ knowledge }: { knowledge: Knowledge }): AnyActorDefinition[] {
  return [
    // Only a chat model reads the summary that recalled exchanges join; the extractive default
    // does not, so it is spared the query.
    conversationActor({ brain: knowledge, recallMemories: knowledge.chat ? 2 : 0 }),
    userActor(),
    creatorActor,
  ];
}
