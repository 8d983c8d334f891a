/**
 * Coachd's domain actors and the contracts callers use to reach them: the UserActor (profile,
 * programs), the ConversationActor (dialogue, answers, handoff) with its answerer, and the
 * CreatorActor (the creator's live channels); the one channel vocabulary and its answer formats.
 *
 * Callers (channels, the admin API, other actors) address actors through a contract's address,
 * which types `tell` and `ask`:
 *
 * @example
 * ```ts ignore
 * import { conversationAddress } from "./actors/mod.ts";
 * await system.client.tell(conversationAddress(creatorId, conversationId), "message", {
 *   userId, channel: "telegram", text: "How long should naps be?", messageId: `tg:${updateId}`,
 * }, { msgId: `tg:${updateId}` });
 * ```
 * @module
 */
import type { AnyActorDefinition } from "../runtime/mod.ts";
import { type Knowledge } from "../knowledge/mod.ts";
import { conversationActor } from "./conversation/conversation_actor.ts";
import { answererActor } from "./conversation/answerer_actor.ts";
import { userActor } from "./user/user_actor.ts";
import { creatorActor } from "./creator/creator_actor.ts";
import { proactiveBudgetActor } from "./user/proactive/budget_actor.ts";

export { conversationActor, type ConversationDeps } from "./conversation/conversation_actor.ts";
export { answererActor, type AnswererDeps } from "./conversation/answerer_actor.ts";
export { userActor } from "./user/user_actor.ts";
export { creatorActor } from "./creator/creator_actor.ts";
export { parseTenantActorId, stableUuid, tenantActorId, turnUuid } from "./ids.ts";
export { ANSWER_FORMATS, answerFormat, Channel, ConversationChannel } from "./contracts/channel.ts";
export { Erase, NoData, Ok } from "./contracts/common.ts";
export {
  Enroll,
  Profile,
  ProfileUpdate,
  ProgramControlAction,
  ProgramProgress,
  ProgramVersions,
  userAddress,
  userContract,
  UserMessage,
} from "./contracts/user.ts";
export {
  ChannelChange,
  creatorAddress,
  creatorContract,
  CreatorMessage,
  LiveChannels,
} from "./contracts/creator.ts";
export {
  AnswerCheck,
  Citation,
  CONVERSATION_EVENTS,
  conversationAddress,
  conversationContract,
  ConversationMessage,
  ConversationReply,
  ConversationView,
  Handoff,
  HandoffReason,
  IncomingMessage,
  MessageRecorded,
  StatusChanged,
  StoredTurn,
} from "./contracts/conversation.ts";
export {
  DELIVERY_SUBJECT,
  DeliveryPurpose,
  DeliveryRequest,
  PROACTIVE_PURPOSES,
  QuickReply,
} from "./contracts/delivery.ts";
export { Inbound, InboundContent, NormalizedInbound } from "./contracts/inbound.ts";
export { awardedBadges, FlowDefinition, FlowStep } from "./contracts/program.ts";
export {
  type Criteria,
  CriteriaSyntaxError,
  evaluateCriteria,
  type Metric,
  parseCriteria,
} from "./user/badges/criteria.ts";
export { ENROLL_REQUESTED } from "./user/program/programs.ts";
export { BADGE_EVENTS } from "./user/badges/awards.ts";
export {
  answererAddress,
  answererContract,
  AnswerRequest,
  AnswerResult,
} from "./contracts/answerer.ts";

/** Every actor type a Coachd node hosts, wired to the node's knowledge services. */
export function coachingActors(
  { knowledge, debounceMs }: { knowledge: Knowledge; debounceMs?: number },
): AnyActorDefinition[] {
  return [
    conversationActor(),
    // Only a chat model reads the summary that recalled exchanges join; the extractive default
    // does not, so it is spared the query.
    answererActor({ brain: knowledge, recallMemories: knowledge.chat ? 2 : 0 }),
    userActor({ debounceMs }),
    creatorActor,
    proactiveBudgetActor,
  ];
}
