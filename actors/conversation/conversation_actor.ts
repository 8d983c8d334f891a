import { z } from "zod";
import { defineActor, type TurnContext } from "../../runtime/mod.ts";
import { parseTenantActorId, turnUuid } from "../ids.ts";
import { type IndexErase, type IndexPut, indexSubject } from "../../knowledge/mod.ts";
import { answererAddress, type AnswerResult } from "../contracts/answerer.ts";
import {
  CONVERSATION_EVENTS,
  conversationContract,
  type ConversationReply,
  ConversationView,
  type Handoff,
  type MessageRecorded,
  type StatusChanged,
  type StoredTurn,
} from "../contracts/conversation.ts";
import { DELIVERY_SUBJECT, type DeliveryRequest } from "../contracts/delivery.ts";
import { userAddress } from "../contracts/user.ts";
import { foldTurns, RECENT_TURNS } from "./memory.ts";

/** Ids of the last messages handled, so one delivered again is not answered twice. */
const HANDLED_IDS = 50;

const ConversationState = ConversationView.extend({
  refusalsInRow: z.number(),
  // Rows written before messages were deduplicated have none.
  handled: z.array(z.string()).default([]),
  /** The channel identity replies go to (the one the person last wrote from). */
  identityId: z.string().uuid().optional(),
});
type ConversationState = z.infer<typeof ConversationState>;

export interface ConversationDeps {
  /**
   * How long a turn waits for its answerer (default 30 s). On a timeout the turn is retried and
   * asks again, and gets the answer the answerer recorded meanwhile.
   */
  answerTimeoutMs?: number;
}

/**
 * ConversationActor, one per conversation (id `<creatorId>:<conversationId>`): recent turns plus
 * a running summary, an answer checked before it is sent, citations stored with it, handoff to
 * the human creator when asked or when confidence is low. Its turns do no I/O: the answer comes
 * from the conversation's answerer (`answererActor`), ids derive from the message, time is the
 * runtime's. On a delivery channel (the message names the person's channel identity) each reply
 * leaves as a `delivery.requested` event the channels send, and every message and status change
 * as `conversation.message` / `conversation.status` for the records creators read. Each exchange is remembered in the creator's `memories` collection
 * through the vector index (`index.memories.put`, applied by its worker after the turn commits).
 */
export function conversationActor(deps: ConversationDeps = {}) {
  return defineActor(conversationContract, {
    state: ConversationState,
    initial: (): ConversationState => ({
      userId: null,
      channel: null,
      turns: [],
      summary: "",
      refusalsInRow: 0,
      handoff: null,
      turnCount: 0,
      handled: [],
    }),
    handlers: {
      message: async (ctx, m): Promise<ConversationReply> => {
        const { creatorId } = parseTenantActorId(ctx.self.id);
        const s = ctx.state;
        const messageId = m.messageId ?? ctx.messageId;
        // A state stored before messages were deduplicated has no list yet.
        const handled = s.handled ?? [];
        if (handled.includes(messageId)) return replyAgain(s, messageId);
        s.handled = [...handled, messageId].slice(-HANDLED_IDS);
        const turnsBefore = s.turnCount;
        s.userId = m.userId;
        s.channel = m.channel;
        if (m.identityId) s.identityId = m.identityId;
        const history = s.turns.filter((t) => t.role !== "creator").map((t) => ({
          role: t.role === "user" ? "user" as const : "assistant" as const,
          text: t.text,
        }));
        push(ctx, { role: "user", text: m.text, at: ctx.now(), messageId });
        if (m.identityId) {
          record(ctx, {
            role: "user",
            text: m.text,
            messageId,
            ...(s.handoff ? { metadata: { with_creator: true } } : {}),
          });
        }
        if (s.handoff) return { type: "with_creator", messageId, handoff: s.handoff };
        // Exchanges older than the recent turns are recalled from the vector index, if any.
        const upToTurn = turnsBefore - RECENT_TURNS;
        const result = await ctx.ask(answererAddress(ctx.self.id), "answer", {
          requestId: messageId,
          userId: m.userId,
          message: m.text,
          history,
          summary: s.summary,
          channel: m.channel,
          knowledgeBaseIds: m.knowledgeBaseIds,
          refusalsInRow: s.refusalsInRow,
          recall: s.indexGen && upToTurn >= 2 ? { gen: s.indexGen, upToTurn } : undefined,
        }, { timeoutMs: deps.answerTimeoutMs ?? 30_000 });
        return answered(ctx, creatorId, m, messageId, result);
      },
      creatorReply: (ctx, m) => {
        push(ctx, { role: "creator", text: m.text, at: ctx.now() });
        const deliveryId = deliver(ctx, "creator_reply", m.text);
        if (deliveryId) record(ctx, { role: "creator", text: m.text, deliveryId });
        return { ok: true as const };
      },
      resume: (ctx) => {
        const was = ctx.state.handoff;
        ctx.state.handoff = null;
        ctx.state.refusalsInRow = 0;
        if (was && ctx.state.identityId) changeStatus(ctx, { status: "open", reason: "released" });
        return { ok: true as const };
      },
      get: (ctx) => ctx.state,
      erase: (ctx, m) => {
        const { creatorId } = parseTenantActorId(ctx.self.id);
        const erase: IndexErase = {
          creatorId,
          documentId: ctx.self.id,
          // Without a generation nothing was indexed by this life; a fresh one still removes
          // memories written before they carried one.
          gen: ctx.state.indexGen ?? turnUuid(ctx, "erase-gen"),
        };
        ctx.emit(indexSubject("memories", "erase"), erase);
        ctx.tell(answererAddress(ctx.self.id), "erase", m);
        ctx.erase();
      },
    },
  });
}

/** Records the answer to the message and sends it on; the reply of `message`. */
function answered(
  ctx: TurnContext<ConversationState>,
  creatorId: string,
  m: { userId: string; text: string; identityId?: string },
  messageId: string,
  result: AnswerResult,
): ConversationReply {
  const s = ctx.state;
  s.refusalsInRow = result.refused ? s.refusalsInRow + 1 : 0;
  const turn: StoredTurn = {
    role: "assistant",
    text: result.answer,
    at: ctx.now(),
    replyTo: messageId,
    citations: result.citations,
    qa: result.qa,
  };
  push(ctx, turn);
  if (result.handoff) s.handoff = { reason: result.handoff.reason, at: ctx.now() };
  if (m.identityId) {
    const titles = [...new Set(result.citations.map((c) => c.documentTitle))];
    const deliveryId = deliver(ctx, "answer", result.answer, {
      replyTo: messageId,
      citations: titles.map((title) => ({ title })),
    });
    record(ctx, {
      role: "assistant",
      text: result.answer,
      replyTo: messageId,
      deliveryId,
      metadata: {
        citations: result.citations.map((c) => ({ chunk_id: c.chunkId, title: c.documentTitle })),
        qa: result.qa,
        refused: result.refused,
      },
    });
    if (result.handoff) {
      changeStatus(ctx, { status: "handoff", reason: result.handoff.reason, lastMessage: m.text });
    }
  }
  const topics = [...new Set(result.citations.map((c) => c.documentTitle))];
  if (topics.length) ctx.tell(userAddress(creatorId, m.userId), "noteTopics", topics);
  remember(ctx, creatorId, m.text, result.answer);
  return answerReply(turn, messageId, s.handoff);
}

/** Where this conversation's records and deliveries point: creator, conversation, person. */
function whereabouts(ctx: TurnContext<ConversationState>) {
  const { creatorId, localId } = parseTenantActorId(ctx.self.id);
  return {
    creatorId,
    conversationId: localId,
    endUserId: ctx.state.userId ?? "",
    channel: ctx.state.channel ?? "preview",
  };
}

/**
 * Asks the channels to send `text` to the person's identity once the turn commits; returns the
 * delivery's id (derived from the message, so a redelivered turn asks for the same delivery).
 */
function deliver(
  ctx: TurnContext<ConversationState>,
  purpose: DeliveryRequest["purpose"],
  text: string,
  extra: { replyTo?: string; citations?: DeliveryRequest["citations"] } = {},
): string | undefined {
  const { identityId } = ctx.state;
  if (!identityId) return undefined;
  const w = whereabouts(ctx);
  const id = `${ctx.self.id}:${extra.replyTo ?? ctx.messageId}:${purpose}`;
  const request: DeliveryRequest = {
    id,
    creatorId: w.creatorId,
    endUserId: w.endUserId,
    conversationId: w.conversationId,
    identityId,
    purpose,
    text,
    ...(extra.citations?.length ? { citations: extra.citations } : {}),
  };
  ctx.emit(DELIVERY_SUBJECT, request);
  return id;
}

function record(
  ctx: TurnContext<ConversationState>,
  m: Omit<MessageRecorded, "creatorId" | "conversationId" | "endUserId" | "channel" | "at">,
) {
  const event: MessageRecorded = { ...whereabouts(ctx), ...m, at: ctx.now() } as MessageRecorded;
  ctx.emit(CONVERSATION_EVENTS.message, event);
}

function changeStatus(
  ctx: TurnContext<ConversationState>,
  change: Pick<StatusChanged, "status" | "reason" | "lastMessage">,
) {
  const event: StatusChanged = { ...whereabouts(ctx), ...change, at: ctx.now() } as StatusChanged;
  ctx.emit(CONVERSATION_EVENTS.status, event);
}

function answerReply(
  turn: StoredTurn,
  messageId: string,
  handoff: Handoff | null,
): ConversationReply {
  return {
    type: "answer",
    messageId,
    answer: turn.text,
    refused: turn.qa?.refused ?? false,
    handoff,
    citations: turn.citations ?? [],
    qa: {
      ok: turn.qa?.ok ?? true,
      grounding: turn.qa?.grounding ?? 1,
      refused: turn.qa?.refused ?? false,
      problems: turn.qa?.problems ?? [],
    },
  };
}

/** The reply to a message handled before, from what the conversation kept of it. */
function replyAgain(s: ConversationState, messageId: string): ConversationReply {
  const answer = s.turns.find((t) => t.role === "assistant" && t.replyTo === messageId);
  if (answer) return answerReply(answer, messageId, s.handoff);
  const asked = s.turns.some((t) => t.role === "user" && t.messageId === messageId);
  if (asked && s.handoff) return { type: "with_creator", messageId, handoff: s.handoff };
  return { type: "duplicate", messageId };
}

function push(ctx: TurnContext<ConversationState>, turn: StoredTurn) {
  const folded = foldTurns([...ctx.state.turns, turn], ctx.state.summary);
  ctx.state.turns = folded.turns;
  ctx.state.summary = folded.summary;
  ctx.state.turnCount++;
}

/**
 * Asks the vector index to remember the exchange once the turn commits (the worker embeds it).
 * The record id is the conversation, its generation and the turn number: a repeat rewrites it.
 */
function remember(
  ctx: TurnContext<ConversationState>,
  creatorId: string,
  question: string,
  answer: string,
) {
  const gen = ctx.state.indexGen ??= turnUuid(ctx, "index-gen");
  const turn = ctx.state.turnCount;
  const put: IndexPut = {
    creatorId,
    documentId: ctx.self.id,
    gen,
    id: `${ctx.self.id}:${gen}:${turn}`,
    text: `User: ${question}\nCoach: ${answer}`,
    meta: { turn },
  };
  ctx.emit(indexSubject("memories", "put"), put);
}
