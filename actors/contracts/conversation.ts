import { z } from "zod";
import { defineContract } from "../../runtime/mod.ts";
import { tenantActorId } from "../ids.ts";
import { ConversationChannel } from "./channel.ts";
import { Erase, NoData, Ok } from "./common.ts";

/** A message from the end user, as a channel hands it over. */
export const IncomingMessage = z.object({
  userId: z.string().min(1).max(200),
  channel: ConversationChannel,
  text: z.string().min(1).max(4000),
  /** Only these knowledge bases of the creator are searched (default: all of them). */
  knowledgeBaseIds: z.array(z.string().uuid()).optional(),
  /**
   * The channel's own id of the message (Telegram update id, WhatsApp message id, the widget's
   * client id). A message that arrives again under an id already handled gets the first reply
   * again and changes nothing. Without it, the runtime's message id is used.
   */
  messageId: z.string().min(1).max(200).optional(),
  /**
   * The channel identity to answer (channels/core delivers to it); absent, as in the creators'
   * preview chat, nothing is delivered or recorded: the reply is the answer.
   */
  identityId: z.uuid().optional(),
  /** When the person sent it (epoch ms): the time its record carries. */
  sentAt: z.number().optional(),
});
export type IncomingMessage = z.infer<typeof IncomingMessage>;

/** Why a conversation went to the human creator; `unavailable`: the model server was down. */
export const HandoffReason = z.enum(["asked", "low_confidence", "failed_qa", "unavailable"]);
export type HandoffReason = z.infer<typeof HandoffReason>;

/** The conversation waits for the human creator since `at`. */
export const Handoff = z.object({ reason: HandoffReason, at: z.number() });
export type Handoff = z.infer<typeof Handoff>;

/** A passage an answer cites, where it is in its document and how relevant it was. */
export const Citation = z.object({
  n: z.number(),
  chunkId: z.string(),
  documentId: z.string(),
  documentTitle: z.string(),
  heading: z.string(),
  position: z.object({
    ordinal: z.number(),
    start: z.number(),
    end: z.number(),
    page: z.number().nullable(),
  }),
  relevance: z.number(),
});
export type Citation = z.infer<typeof Citation>;

/** The quality check of an answer before it was sent. */
export const AnswerCheck = z.object({
  ok: z.boolean(),
  /** Share of the answer's sentences the cited passages support, 0..1. */
  grounding: z.number(),
  refused: z.boolean(),
  problems: z.array(z.string()),
});
export type AnswerCheck = z.infer<typeof AnswerCheck>;

/** What `message` replies; the same reply again for a message delivered twice. */
export const ConversationReply = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("answer"),
    /** The message answered. */
    messageId: z.string(),
    answer: z.string(),
    refused: z.boolean(),
    handoff: Handoff.nullable(),
    citations: z.array(Citation),
    qa: AnswerCheck,
  }),
  /** The conversation is with the human creator: the message was passed on, not answered. */
  z.object({ type: z.literal("with_creator"), messageId: z.string(), handoff: Handoff }),
  /** The message was handled before and its reply is no longer kept. */
  z.object({ type: z.literal("duplicate"), messageId: z.string() }),
]);
export type ConversationReply = z.infer<typeof ConversationReply>;

/** One turn of the dialogue memory. */
export const StoredTurn = z.object({
  role: z.enum(["user", "assistant", "creator"]),
  text: z.string(),
  at: z.number(),
  /** A user turn: the id of the message (see `IncomingMessage.messageId`). */
  messageId: z.string().optional(),
  /** An assistant turn: the id of the message it answers. */
  replyTo: z.string().optional(),
  citations: z.array(Citation).optional(),
  qa: z.object({
    ok: z.boolean(),
    grounding: z.number(),
    refused: z.boolean(),
    // Turns stored before problems were kept have none.
    problems: z.array(z.string()).optional(),
  }).optional(),
});
export type StoredTurn = z.infer<typeof StoredTurn>;

/** What `get` shows of a conversation: its dialogue memory and who it is with. */
export const ConversationView = z.object({
  userId: z.string().nullable(),
  channel: ConversationChannel.nullable(),
  turns: z.array(StoredTurn),
  summary: z.string(),
  handoff: Handoff.nullable(),
  turnCount: z.number(),
  /** This life of the conversation in the vector index (set with its first memory). */
  indexGen: z.string().uuid().optional(),
});
export type ConversationView = z.infer<typeof ConversationView>;

/**
 * The messages of the ConversationActor, one per conversation (id
 * `<creatorId>:<conversationId>`). Channels tell it `message`; the admin API tells it `erase`
 * and the creator's `creatorReply` and `resume`. Replies leave as deliveries, and every message
 * and status change as an event ({@link MessageRecorded}, {@link StatusChanged}).
 */
export const conversationContract = defineContract("conversation", {
  message: { input: IncomingMessage, reply: ConversationReply },
  /** The creator answers personally; the reply goes out on the conversation's channel. */
  creatorReply: { input: z.object({ text: z.string().min(1).max(4000) }), reply: Ok },
  /** The creator hands the conversation back to the assistant. */
  resume: { input: NoData, reply: Ok },
  get: { input: NoData, reply: ConversationView },
  /** Forget the conversation, its embedded memories and its recorded answers. */
  erase: { input: Erase },
});

/** Any message of the ConversationActor, `{ kind, data }`. */
export const ConversationMessage = conversationContract.schema;
export type ConversationMessage = z.infer<typeof ConversationMessage>;

/** The ConversationActor of one conversation of one creator. */
export function conversationAddress(creatorId: string, conversationId: string) {
  return conversationContract.address(tenantActorId(creatorId, conversationId));
}

/**
 * `conversation.message`: something said in a delivered conversation (the person, the coach, the
 * creator), for the records creators read (channels/core/records.ts) and for analytics.
 */
export const MessageRecorded = z.object({
  creatorId: z.uuid(),
  conversationId: z.uuid(),
  endUserId: z.uuid(),
  channel: ConversationChannel,
  role: z.enum(["user", "assistant", "creator", "system"]),
  text: z.string().max(20_000),
  /** When it was said, epoch ms (the actor's clock). */
  at: z.number(),
  /** A user message: its id; a reply: the id of the message it answers. */
  messageId: z.string().max(300).optional(),
  replyTo: z.string().max(300).optional(),
  /** The delivery that carries an outbound message to the person. */
  deliveryId: z.uuid().optional(),
  /** Anything worth showing beside it: citations, the answer check, while with the creator. */
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type MessageRecorded = z.infer<typeof MessageRecorded>;

/** `conversation.status`: the conversation went to the human creator, or came back. */
export const StatusChanged = z.object({
  creatorId: z.uuid(),
  conversationId: z.uuid(),
  endUserId: z.uuid(),
  channel: ConversationChannel,
  status: z.enum(["open", "handoff", "closed"]),
  reason: z.string().max(200).optional(),
  /** The message that led to it (a handoff). */
  lastMessage: z.string().max(4000).optional(),
  at: z.number(),
});
export type StatusChanged = z.infer<typeof StatusChanged>;

/** Subjects (under `<prefix>.evt.`) of the events the ConversationActor emits. */
export const CONVERSATION_EVENTS = {
  message: "conversation.message",
  status: "conversation.status",
} as const;
