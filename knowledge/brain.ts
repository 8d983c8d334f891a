/**
 * One conversational turn over a creator's knowledge: retrieve, decide (answer, refuse or hand
 * off), answer, check. The ConversationActor and the creators' preview chat both run this.
 */
import {
  type Channel,
  CHANNEL_RULES,
  checkAnswer,
  formatForChannel,
  type QaVerdict,
} from "./qa.ts";
import type { Profile, Responder, Turn } from "./responder.ts";
import { type Passage, type RetrievalDeps, retrieve } from "./retrieve.ts";
import { STOPWORDS, tokenize } from "./tokens.ts";

export interface BrainDeps extends RetrievalDeps {
  responder: Responder;
  /** Relevance below which a passage does not count as an answer (embedder-specific). */
  minRelevance: number;
}

export interface TurnInput {
  creatorId: string;
  message: string;
  history: Turn[];
  summary: string;
  profile?: Profile;
  channel: Channel;
  knowledgeBaseIds?: string[];
  /** Refusals just before this turn: repeated ones hand the conversation to the creator. */
  refusalsInRow?: number;
}

export interface Citation {
  n: number;
  chunkId: string;
  documentId: string;
  documentTitle: string;
  heading: string;
  position: Passage["position"];
  relevance: number;
}

export type HandoffReason = "asked" | "low_confidence" | "failed_qa";

export interface TurnResult {
  answer: string;
  refused: boolean;
  handoff?: { reason: HandoffReason };
  citations: Citation[];
  confidence: number;
  qa: QaVerdict;
}

export type BrainEvent =
  | { type: "retrieval"; passages: RetrievalSummary[]; confidence: number; query: string }
  | { type: "token"; text: string }
  | { type: "final"; result: TurnResult };

export interface RetrievalSummary {
  chunkId: string;
  documentId: string;
  documentTitle: string;
  heading: string;
  position: Passage["position"];
  score: number;
  relevance: number;
  signals: Passage["signals"];
}

const HUMAN_REQUEST =
  /\b(?:talk|speak|chat|get in touch)\b.{0,30}\b(?:human|person|someone real|real person|coach|you yourself)\b|\b(?:human|real person|live agent|operator)\b.{0,20}\b(?:please|now)\b|\bhand(?:\s|-)?off\b|\bcontact (?:the )?coach\b/i;

/** True when the user asks for the human creator instead of the assistant. */
export function asksForHuman(message: string): boolean {
  return HUMAN_REQUEST.test(message);
}

const ANAPHORA =
  /\b(?:it|that|this|those|these|they|them|there|one|more|else|instead|too|also)\b|^(?:and|but|what about|how about|so|then|why)\b/i;

/** The previous user question when this message leans on it ("and what about before bed?"). */
export function followUpContext(message: string, history: Turn[]): string | undefined {
  const previous = history.filter((t) => t.role === "user").at(-1)?.text;
  if (!previous) return undefined;
  const content = tokenize(message).filter((t) => !STOPWORDS.has(t));
  return content.length <= 6 || ANAPHORA.test(message) ? previous : undefined;
}

/** Runs one turn, yielding retrieval, answer pieces, then the checked result. */
export async function* converse(deps: BrainDeps, input: TurnInput): AsyncGenerator<BrainEvent> {
  const rules = CHANNEL_RULES[input.channel];
  const context = followUpContext(input.message, input.history);
  const query = input.message;
  if (asksForHuman(input.message)) {
    const answer = "Of course. I'm passing your message to your coach, who will reply here.";
    yield { type: "retrieval", passages: [], confidence: 0, query };
    yield { type: "token", text: answer };
    yield { type: "final", result: final(answer, [], true, input, { reason: "asked" }, 0) };
    return;
  }
  const passages = await retrieve(deps, {
    creatorId: input.creatorId,
    query,
    k: 5,
    knowledgeBaseIds: input.knowledgeBaseIds,
    context,
    goals: input.profile?.goals,
  });
  const relevant = passages.filter((p) => p.relevance >= deps.minRelevance);
  const confidence = passages.reduce((m, p) => Math.max(m, p.relevance), 0);
  yield { type: "retrieval", passages: passages.map(summary), confidence, query };
  if (!relevant.length) {
    const lowConfidence = (input.refusalsInRow ?? 0) >= 1;
    const answer = lowConfidence
      ? "I still can't find this in your coach's material, so I'm passing your question to your " +
        "coach, who will reply here."
      : "I couldn't find anything about that in your coach's material, so I won't guess. You can " +
        "rephrase it, or ask me to pass the question to your coach.";
    yield { type: "token", text: answer };
    yield {
      type: "final",
      result: final(
        answer,
        [],
        true,
        input,
        lowConfidence ? { reason: "low_confidence" } : undefined,
        confidence,
      ),
    };
    return;
  }
  let raw = "";
  for await (
    const piece of deps.responder.answer({
      question: context ? `${input.message} (${context})` : input.message,
      passages: relevant,
      history: input.history,
      summary: input.summary,
      profile: input.profile,
      maxChars: rules.maxChars,
    })
  ) {
    raw += piece;
    yield { type: "token", text: piece };
  }
  const answer = formatForChannel(raw.trim(), input.channel);
  const citations: Citation[] = relevant.map((p, i) => ({
    n: i + 1,
    chunkId: p.id,
    documentId: p.documentId,
    documentTitle: p.documentTitle,
    heading: p.heading,
    position: p.position,
    relevance: p.relevance,
  })).filter((c) => answer.includes(`[${c.n}]`));
  const qa = checkAnswer({
    answer,
    passages: relevant,
    creatorId: input.creatorId,
    passageCreators: relevant.map((p) => p.creatorId),
    refused: false,
    channel: input.channel,
  });
  if (!qa.ok) {
    const fallback = "I'm not confident I can answer that correctly from your coach's material, " +
      "so I'm passing your question to your coach.";
    yield {
      type: "final",
      result: {
        answer: fallback,
        refused: true,
        handoff: { reason: "failed_qa" },
        citations: [],
        confidence,
        qa,
      },
    };
    return;
  }
  yield { type: "final", result: { answer, refused: false, citations, confidence, qa } };
}

function final(
  answer: string,
  passages: Passage[],
  refused: boolean,
  input: TurnInput,
  handoff: { reason: HandoffReason } | undefined,
  confidence: number,
): TurnResult {
  const qa = checkAnswer({
    answer,
    passages,
    creatorId: input.creatorId,
    passageCreators: [],
    refused,
    channel: input.channel,
  });
  return { answer, refused, handoff, citations: [], confidence, qa };
}

function summary(p: Passage): RetrievalSummary {
  return {
    chunkId: p.id,
    documentId: p.documentId,
    documentTitle: p.documentTitle,
    heading: p.heading,
    position: p.position,
    score: p.score,
    relevance: p.relevance,
    signals: p.signals,
  };
}

/** Runs a whole turn and returns its result (for callers that do not stream). */
export async function runTurn(deps: BrainDeps, input: TurnInput): Promise<TurnResult> {
  for await (const e of converse(deps, input)) if (e.type === "final") return e.result;
  throw new BrainError("converse() ended without a final event");
}

/** The conversation pipeline broke its own contract (a bug, not a user or data problem). */
export class BrainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BrainError";
  }
}
