import { z } from "zod";
import { defineContract } from "../../runtime/mod.ts";
import { ConversationChannel } from "./channel.ts";
import { Erase } from "./common.ts";
import { AnswerCheck, Citation, HandoffReason } from "./conversation.ts";

/** What the ConversationActor asks its answerer to answer, everything the turn needs. */
export const AnswerRequest = z.object({
  /** The message being answered: a request repeated under it gets the recorded result. */
  requestId: z.string().min(1).max(300),
  userId: z.string().min(1).max(200),
  message: z.string().min(1).max(4000),
  history: z.array(z.object({ role: z.enum(["user", "assistant"]), text: z.string() })),
  summary: z.string(),
  channel: ConversationChannel,
  knowledgeBaseIds: z.array(z.string().uuid()).optional(),
  refusalsInRow: z.number().int().min(0),
  /**
   * Recall remembered exchanges of this life of the conversation (`gen`) up to turn `upToTurn`,
   * those older than the recent turns in `history`. Absent: recall nothing.
   */
  recall: z.object({ gen: z.string().uuid(), upToTurn: z.number().int() }).optional(),
});
export type AnswerRequest = z.infer<typeof AnswerRequest>;

/** The checked answer to one message. */
export const AnswerResult = z.object({
  answer: z.string(),
  refused: z.boolean(),
  handoff: z.object({ reason: HandoffReason }).nullable(),
  citations: z.array(Citation),
  qa: AnswerCheck,
});
export type AnswerResult = z.infer<typeof AnswerResult>;

/**
 * The messages of the answerer, the ConversationActor's companion with the same id: it does the
 * I/O of a turn (profile, recall, retrieval, the model) and records each result under its
 * request id, so the conversation's turn stays a function of its messages.
 */
export const answererContract = defineContract("answerer", {
  answer: { input: AnswerRequest, reply: AnswerResult },
  erase: { input: Erase },
});

/** The answerer of a conversation (`conversationActorId`: `<creatorId>:<conversationId>`). */
export function answererAddress(conversationActorId: string) {
  return answererContract.address(conversationActorId);
}
