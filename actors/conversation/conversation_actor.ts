import { z } from "zod";
import { defineActor, type TurnContext } from "../../runtime/mod.ts";
import { parseTenantActorId, tenantActorId } from "../ids.ts";
import {
  type BrainDeps,
  type Channel,
  type IndexErase,
  type IndexPut,
  indexSubject,
  runTurn,
} from "../../knowledge/mod.ts";
import { emptyProfile, Profile } from "../user/profile.ts";
import { foldTurns, RECENT_TURNS, StoredTurn } from "./memory.ts";

const Handoff = z.object({
  reason: z.enum(["asked", "low_confidence", "failed_qa"]),
  at: z.number(),
});

const ConversationState = z.object({
  userId: z.string().nullable(),
  channel: z.string().nullable(),
  turns: z.array(StoredTurn),
  summary: z.string(),
  refusalsInRow: z.number(),
  handoff: Handoff.nullable(),
  turnCount: z.number(),
  /**
   * This life of the conversation in the vector index (set with its first memory): its memories
   * carry it, and an erase retires it, so nothing remembered before an erase comes back.
   */
  indexGen: z.string().uuid().optional(),
});
type ConversationState = z.infer<typeof ConversationState>;

const CHANNELS = ["web", "app", "telegram", "whatsapp", "sms", "preview"] as const;

export const UserMessage = z.object({
  userId: z.string().min(1).max(200),
  channel: z.enum(CHANNELS),
  text: z.string().min(1).max(4000),
  knowledgeBaseIds: z.array(z.string().uuid()).optional(),
});

export type ConversationReply =
  | {
    type: "answer";
    answer: string;
    refused: boolean;
    handoff: z.infer<typeof Handoff> | null;
    citations: NonNullable<StoredTurn["citations"]>;
    qa: { ok: boolean; grounding: number; refused: boolean; problems: string[] };
  }
  | { type: "with_creator"; handoff: z.infer<typeof Handoff> };

export interface ConversationDeps {
  brain: BrainDeps;
  /** Timeout of the profile lookup in the UserActor. */
  profileTimeoutMs?: number;
  /**
   * Earlier exchanges of the conversation (older than the recent turns kept word for word) most
   * similar to the message, added to the summary the responder reads; 0 (the default) recalls
   * none.
   */
  recallMemories?: number;
  /** Least cosine similarity of a recalled exchange to the message (default 0.5). */
  recallMinSimilarity?: number;
  /** Recall is skipped when it takes longer (default 1000 ms). */
  recallTimeoutMs?: number;
}

/**
 * ConversationActor, one per conversation (id `<creatorId>:<conversationId>`): recent turns plus
 * a running summary, retrieval in the creator's knowledge, an answer checked before it is sent,
 * citations stored with it, handoff to the human creator when asked or when confidence is low.
 * Answers leave through the `conversation.answer` event; handoffs raise `conversation.handoff`.
 * Each exchange is remembered in the creator's `memories` collection through the vector index
 * (`index.memories.put`, applied by its worker after the turn commits).
 */
export function conversationActor(deps: ConversationDeps) {
  return defineActor({
    type: "conversation",
    state: ConversationState,
    initial: (): ConversationState => ({
      userId: null,
      channel: null,
      turns: [],
      summary: "",
      refusalsInRow: 0,
      handoff: null,
      turnCount: 0,
    }),
    handlers: (h) => ({
      message: h(UserMessage, async (ctx, m): Promise<ConversationReply> => {
        const { creatorId } = parseTenantActorId(ctx.self.id);
        const s = ctx.state;
        const turnsBefore = s.turnCount;
        s.userId = m.userId;
        s.channel = m.channel;
        const history = s.turns.filter((t) => t.role !== "creator").map((t) => ({
          role: t.role === "user" ? "user" as const : "assistant" as const,
          text: t.text,
        }));
        push(ctx, { role: "user", text: m.text, at: ctx.now() });
        if (s.handoff) {
          ctx.emit("conversation.for_creator", {
            conversation: ctx.self.id,
            creatorId,
            userId: m.userId,
            text: m.text,
          });
          return { type: "with_creator", handoff: s.handoff };
        }
        const profile = await loadProfile(ctx, creatorId, m.userId, deps.profileTimeoutMs);
        const earlier = await recall(deps, ctx, creatorId, m.text, turnsBefore);
        const result = await runTurn(deps.brain, {
          creatorId,
          message: m.text,
          history,
          summary: earlier.length
            ? [s.summary, "Earlier in this conversation:", ...earlier].filter(Boolean).join("\n")
            : s.summary,
          profile,
          channel: m.channel as Channel,
          knowledgeBaseIds: m.knowledgeBaseIds,
          refusalsInRow: s.refusalsInRow,
        });
        s.refusalsInRow = result.refused ? s.refusalsInRow + 1 : 0;
        push(ctx, {
          role: "assistant",
          text: result.answer,
          at: ctx.now(),
          citations: result.citations,
          qa: { ok: result.qa.ok, grounding: result.qa.grounding, refused: result.refused },
        });
        if (result.handoff) {
          s.handoff = { reason: result.handoff.reason, at: ctx.now() };
          ctx.emit("conversation.handoff", {
            conversation: ctx.self.id,
            creatorId,
            userId: m.userId,
            reason: result.handoff.reason,
            lastMessage: m.text,
          });
        }
        ctx.emit("conversation.answer", {
          conversation: ctx.self.id,
          creatorId,
          userId: m.userId,
          channel: m.channel,
          text: result.answer,
          citations: result.citations.map((c) => c.chunkId),
        });
        const topics = [...new Set(result.citations.map((c) => c.documentTitle))];
        if (topics.length) {
          ctx.tell({ type: "user", id: tenantActorId(creatorId, m.userId) }, "noteTopics", topics);
        }
        remember(ctx, creatorId, m.text, result.answer);
        return {
          type: "answer",
          answer: result.answer,
          refused: result.refused,
          handoff: s.handoff,
          citations: result.citations,
          qa: {
            ok: result.qa.ok,
            grounding: result.qa.grounding,
            refused: result.refused,
            problems: result.qa.problems,
          },
        };
      }),
      /** The creator answers personally; the reply goes out on the conversation's channel. */
      creatorReply: h(z.object({ text: z.string().min(1).max(4000) }), (ctx, m) => {
        const { creatorId } = parseTenantActorId(ctx.self.id);
        push(ctx, { role: "creator", text: m.text, at: ctx.now() });
        ctx.emit("conversation.answer", {
          conversation: ctx.self.id,
          creatorId,
          userId: ctx.state.userId,
          channel: ctx.state.channel,
          text: m.text,
          fromCreator: true,
        });
        return { ok: true };
      }),
      /** The creator hands the conversation back to the assistant. */
      resume: h(z.null().optional(), (ctx) => {
        ctx.state.handoff = null;
        ctx.state.refusalsInRow = 0;
        return { ok: true };
      }),
      get: h(z.null().optional(), (ctx) => ctx.state),
      /** The creator deleted the end user: forget the conversation and its embedded memories. */
      erase: h(z.object({ reason: z.string() }), (ctx) => {
        const { creatorId } = parseTenantActorId(ctx.self.id);
        const erase: IndexErase = {
          creatorId,
          documentId: ctx.self.id,
          // Without a generation nothing was indexed by this life; a fresh one still removes
          // memories written before they carried one.
          gen: ctx.state.indexGen ?? crypto.randomUUID(),
        };
        ctx.emit(indexSubject("memories", "erase"), erase);
        ctx.erase();
      }),
    }),
  });
}

function push(ctx: TurnContext<ConversationState>, turn: StoredTurn) {
  const folded = foldTurns([...ctx.state.turns, turn], ctx.state.summary);
  ctx.state.turns = folded.turns;
  ctx.state.summary = folded.summary;
  ctx.state.turnCount++;
}

async function loadProfile(
  ctx: TurnContext<ConversationState>,
  creatorId: string,
  userId: string,
  timeoutMs = 2000,
): Promise<Profile> {
  try {
    const p = await ctx.ask<unknown>(
      { type: "user", id: tenantActorId(creatorId, userId) },
      "getProfile",
      null,
      { timeoutMs },
    );
    return Profile.parse(p);
  } catch (err) {
    ctx.log.warn("profile unavailable, answering without it", { error: String(err) });
    return emptyProfile();
  }
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
  const gen = ctx.state.indexGen ??= crypto.randomUUID();
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

/**
 * The remembered exchanges of this conversation's current life most similar to the message,
 * among those no longer in the recent turns (`turn`, the turn count after an exchange, at most
 * `turnsBefore - RECENT_TURNS`). A read: it changes nothing, and a failure only means no recall.
 */
async function recall(
  deps: ConversationDeps,
  ctx: TurnContext<ConversationState>,
  creatorId: string,
  message: string,
  turnsBefore: number,
): Promise<string[]> {
  const k = deps.recallMemories ?? 0;
  const gen = ctx.state.indexGen;
  const cutoff = turnsBefore - RECENT_TURNS;
  if (k <= 0 || !gen || cutoff < 2) return [];
  const minSimilarity = deps.recallMinSimilarity ?? 0.5;
  const timeoutMs = deps.recallTimeoutMs ?? 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const hits = await Promise.race([
      (async () => {
        const [embedding] = await deps.brain.embedder.embed([message]);
        return await deps.brain.store.query("memories", embedding!, {
          creatorId,
          k,
          where: { document_id: ctx.self.id, gen, turn: { $lte: cutoff } },
        });
      })(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return hits.filter((h) => h.similarity >= minSimilarity).map((h) => h.text);
  } catch (err) {
    ctx.log.warn("memory recall failed, answering without it", { error: String(err) });
    return [];
  } finally {
    clearTimeout(timer);
  }
}
