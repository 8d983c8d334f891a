/**
 * One conversational turn over a creator's knowledge: retrieve, decide (answer, refuse or hand
 * off), answer, check. The ConversationActor and the creators' preview chat both run this.
 */
import { type AnswerFormat, checkAnswer, formatAnswer, type QaVerdict } from "./qa.ts";
import type { Profile, Responder, Turn } from "./responder.ts";
import {
  type Passage,
  relevanceQuery,
  type RetrievalDeps,
  retrieve,
} from "../retrieval/retrieve.ts";
import type { Background } from "../language/background.ts";
import { STOPWORDS, tokenize } from "../language/tokens.ts";
import { type Ask, readAsk } from "./asks.ts";
import { judge, PRESENT, type Verdict } from "./answerability.ts";
import { type HealthReading, readHealth } from "./health.ts";
import { ALWAYS_DECLINE, safeReply, safetyNote, safetySettings } from "./safety.ts";
import type { AnswerJudge } from "./llm_judge.ts";

export interface BrainDeps extends RetrievalDeps {
  responder: Responder;
  /** Relevance from which a passage counts as an answer on its own (embedder-specific). */
  minRelevance: number;
  /** General knowledge a question is weighed against (the word-vector default has it). */
  background?: Background;
  /** With a chat model: reranks the passages and judges which answer (llm_judge.ts). */
  judge?: AnswerJudge;
}

export interface TurnInput {
  creatorId: string;
  message: string;
  history: Turn[];
  summary: string;
  profile?: Profile;
  /** How the answer must look on the channel it goes to. */
  format: AnswerFormat;
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
  /** How well general definitions cover the question, when the models measure it. */
  background?: number;
  qa: QaVerdict;
  /** Set when the safety policy for health questions shaped the reply (the actor emits it). */
  safety?: SafetyFlag;
}

/** What the health safety policy saw in a question and what it did. */
export interface SafetyFlag {
  /** What the question asks for or describes. */
  concern: "medication" | "dose" | "diagnosis" | "symptom" | "injury" | "treatment";
  /** `declined`: the safe reply; `noted`: answered from a passage on it, with the safety note. */
  action: "declined" | "noted";
  /** The knowledge's own safety rule quoted in the reply, when there is one. */
  ruleChunkId?: string;
}

export type BrainEvent =
  | {
    type: "retrieval";
    passages: RetrievalSummary[];
    confidence: number;
    background?: number;
    query: string;
  }
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

async function measureBackground(deps: BrainDeps, query: string): Promise<number | undefined> {
  if (!deps.background || !deps.matcher) return undefined;
  const [vector] = await deps.embedder.embed([query]);
  return deps.background.coverage(deps.matcher.terms(query, { unknown: true }), vector!).score;
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

/**
 * Which retrieved passages answer the question, best first. With a chat model its judge decides
 * (and reranks); with the word-vector default: topical and holding what the question asks for
 * (answerability.ts); with a neural embedder alone: relevance over the threshold.
 */
async function answering(
  deps: BrainDeps,
  passages: Passage[],
  { query, message, context, background, history }: {
    query: string;
    message: string;
    context?: string;
    background?: number;
    history: Turn[];
  },
): Promise<{ relevant: Passage[]; verdicts: Verdict[]; ask?: Ask }> {
  if (deps.judge) {
    const question = context ? `${message} (${context})` : message;
    const { answering } = await deps.judge.judge({ question, passages, history });
    const verdicts: Verdict[] = passages.map((_, i) =>
      answering.includes(i) ? { answers: true } : { answers: false, reason: "off_topic" }
    );
    return { relevant: answering.map((i) => passages[i]!), verdicts };
  }
  const m = deps.matcher;
  if (!m) {
    const verdicts: Verdict[] = passages.map((p) =>
      p.relevance >= deps.minRelevance ? { answers: true } : { answers: false, reason: "off_topic" }
    );
    return { relevant: passages.filter((_, i) => verdicts[i]!.answers), verdicts };
  }
  const ask = readAsk(message, (t) => m.terms(t, { unknown: true }).map((x) => x.token));
  const terms = m.terms(query, { unknown: true });
  const input = { ask, terms, matcher: m, minRelevance: deps.minRelevance, background };
  const verdicts = passages.map((p) => judge(p, input));
  // The passage that covers the question best answers first (the fused rank also weighs the
  // passage's words against the question's, which favours long passages).
  const relevant = passages.filter((_, i) => verdicts[i]!.answers)
    .sort((a, b) => b.relevance - a.relevance);
  return { relevant, verdicts, ask };
}

/** The passage names what the question describes ("aches", "my period"), not only its topic. */
function coversCues(deps: BrainDeps, p: Passage, cues: string[]): boolean {
  const m = deps.matcher;
  if (!m) return true;
  const terms = m.terms(cues.join(" "), { unknown: true });
  const best = m.bestMatches(terms, m.words(`${p.heading} ${p.text}`), { hubCorrected: true });
  return best.every((b) => b >= PRESENT);
}

/** Runs one turn, yielding retrieval, answer pieces, then the checked result. */
export async function* converse(deps: BrainDeps, input: TurnInput): AsyncGenerator<BrainEvent> {
  const rules = input.format;
  const context = followUpContext(input.message, input.history);
  const query = input.message;
  if (asksForHuman(input.message)) {
    const answer = "Of course. I'm passing your message to your coach, who will reply here.";
    yield { type: "retrieval", passages: [], confidence: 0, query };
    yield { type: "token", text: answer };
    yield { type: "final", result: final(answer, [], true, input, { reason: "asked" }, 0) };
    return;
  }
  const health = readHealth(input.message, context);
  const passages = await retrieve(deps, {
    creatorId: input.creatorId,
    query,
    k: 5,
    knowledgeBaseIds: input.knowledgeBaseIds,
    context,
    goals: input.profile?.goals,
  });
  const relevanceText = relevanceQuery(query, context);
  const confidence = passages.reduce((m, p) => Math.max(m, p.relevance), 0);
  // Health questions: a dose, medication, diagnosis or treatment is never answered from the
  // knowledge; a symptom or injury only from a passage clearly about it.
  if (health?.asked && ALWAYS_DECLINE.has(health.concern)) {
    yield { type: "retrieval", passages: passages.map(summary), confidence, query };
    yield* declineForHealth(deps, input, health, confidence, {});
    return;
  }
  const judge = (background?: number) =>
    answering(deps, passages, {
      query: relevanceText,
      message: input.message,
      context,
      background,
      history: input.history,
    });
  // General knowledge is weighed only when no passage answers on its own relevance: most
  // questions the knowledge answers never need it.
  let judged = await judge();
  let background: number | undefined;
  if (!judged.relevant.length && !deps.judge) {
    background = await measureBackground(deps, relevanceText);
    if (background !== undefined) judged = await judge(background);
  }
  const measured = background === undefined ? {} : { background };
  yield { type: "retrieval", passages: passages.map(summary), confidence, ...measured, query };
  let relevant = judged.relevant;
  if (health?.asked) {
    relevant = relevant.filter((p) =>
      deps.judge ? true : p.relevance >= deps.minRelevance && coversCues(deps, p, health.cues)
    );
    if (!relevant.length) {
      yield* declineForHealth(deps, input, health, confidence, measured);
      return;
    }
  }
  if (!relevant.length) {
    const lowConfidence = (input.refusalsInRow ?? 0) >= 1;
    const answer = lowConfidence
      ? "I still can't find this in your coach's material, so I'm passing your question to your " +
        "coach, who will reply here."
      : clarifyingReply(passages, judged.verdicts, judged.ask);
    yield { type: "token", text: answer };
    yield {
      type: "final",
      result: {
        ...final(
          answer,
          [],
          true,
          input,
          lowConfidence ? { reason: "low_confidence" } : undefined,
          confidence,
        ),
        ...measured,
      },
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
  const answer = formatAnswer(raw.trim(), input.format);
  const citations: Citation[] = relevant.map((p, i) => citationOf(p, i + 1)).filter((c) =>
    answer.includes(`[${c.n}]`)
  );
  const qa = checkAnswer({
    answer,
    passages: relevant,
    creatorId: input.creatorId,
    passageCreators: relevant.map((p) => p.creatorId),
    refused: false,
    format: input.format,
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
        ...measured,
        qa,
      },
    };
    return;
  }
  if (health) {
    // The note is the coach's own wording, added after the grounding check of the answer.
    const note = `\n\n${safetyNote()}`;
    yield { type: "token", text: note };
    yield {
      type: "final",
      result: {
        answer: answer + note,
        refused: false,
        citations,
        confidence,
        ...measured,
        qa,
        safety: { concern: health.concern, action: "noted" },
      },
    };
    return;
  }
  yield {
    type: "final",
    result: { answer, refused: false, citations, confidence, ...measured, qa },
  };
}

async function* declineForHealth(
  deps: BrainDeps,
  input: TurnInput,
  health: HealthReading,
  confidence: number,
  measured: { background?: number },
): AsyncGenerator<BrainEvent> {
  const settings = await safetySettings({
    pool: deps.pool,
    matcher: deps.matcher,
    creatorId: input.creatorId,
    knowledgeBaseIds: input.knowledgeBaseIds,
    question: input.message,
    concern: health.concern,
  });
  const answer = formatAnswer(safeReply(health, settings, input.message), input.format);
  const rule = settings.rule?.passage;
  yield { type: "token", text: answer };
  const result = final(answer, rule ? [rule] : [], true, input, undefined, confidence);
  yield {
    type: "final",
    result: {
      ...result,
      citations: rule && answer.includes("[1]") ? [citationOf(rule, 1)] : [],
      ...measured,
      safety: {
        concern: health.concern,
        action: "declined",
        ...(rule ? { ruleChunkId: rule.id } : {}),
      },
    },
  };
}

const LEAD: Record<string, string> = {
  product: "Your coach's material gives general advice but doesn't recommend specific products " +
    "or brands.",
  offer: "I couldn't find that in your coach's material, so I can't say it exists.",
  price: "Your coach's material doesn't give a price for that.",
  number: "Your coach's material doesn't give a number for that, and I won't guess one.",
};

/**
 * The reply when nothing answers: say so, name the topics the knowledge does cover near the
 * question (so the user can say which they meant), and offer the coach.
 */
export function clarifyingReply(passages: Passage[], verdicts: Verdict[], ask?: Ask): string {
  const reasons = verdicts.filter((v) => !v.answers).map((v) => (v as { reason: string }).reason);
  const topicalMiss = reasons.some((r) => r !== "off_topic");
  const lead = topicalMiss && ask?.want === "product"
    ? LEAD.product
    : topicalMiss && ask?.want === "offer"
    ? LEAD.offer
    : topicalMiss && ask?.want === "price"
    ? LEAD.price
    : topicalMiss && reasons.includes("no_number")
    ? LEAD.number
    : "I couldn't find an answer to that in your coach's material, so I won't guess.";
  const topics = [
    ...new Set(
      passages.map((p) => p.heading.split(" > ").at(-1) || p.documentTitle.replace(/\.\w+$/, ""))
        .filter((t) => t.length > 0 && t.length <= 60),
    ),
  ].slice(0, 3);
  const covered = topics.length
    ? ` The closest topics it covers are ${listOf(topics.map((t) => `"${t}"`))}: is your ` +
      "question about one of those?"
    : "";
  return `${lead}${covered} You can also ask me to pass your question to your coach.`;
}

function listOf(xs: string[]): string {
  return xs.length <= 1 ? xs.join("") : `${xs.slice(0, -1).join(", ")} or ${xs.at(-1)}`;
}

function citationOf(p: Passage, n: number): Citation {
  return {
    n,
    chunkId: p.id,
    documentId: p.documentId,
    documentTitle: p.documentTitle,
    heading: p.heading,
    position: p.position,
    relevance: p.relevance,
  };
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
    format: input.format,
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
