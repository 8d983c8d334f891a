/** Answer generation from retrieved passages: extractive by default, a chat model when set. */
import { ChatPromptTemplate, MessagesPlaceholder } from "@langchain/core/prompts";
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import type { ChatMessage, ChatModel } from "../models/models.ts";
import type { Passage } from "../retrieval/retrieve.ts";
import { sentences } from "../language/sentences.ts";
import type { SoftMatcher } from "../language/soft_match.ts";
import { STOPWORDS, tokenize } from "../language/tokens.ts";

export interface Turn {
  role: "user" | "assistant";
  text: string;
}

export interface Profile {
  goals: string[];
  preferences: Record<string, string>;
  language: string;
  name?: string;
}

export interface AnswerInput {
  question: string;
  /** Passages judged relevant, best first; the answer may cite only these. */
  passages: Passage[];
  /** No passage clears the answer threshold on its own: say the answer is the closest found. */
  tentative?: boolean;
  history: Turn[];
  summary: string;
  profile?: Profile;
  /** Most characters the channel shows well. */
  maxChars: number;
}

/** Produces an answer as a stream of text pieces; citations are `[n]` into `passages`. */
export interface Responder {
  readonly id: string;
  answer(input: AnswerInput, opts?: { signal?: AbortSignal }): AsyncIterable<string>;
}

/**
 * The default responder: no text is invented. It quotes the sentences of the best passages that
 * match the question most closely, names their source and cites them.
 */
export class ExtractiveResponder implements Responder {
  readonly id = "extractive";
  readonly #matcher?: SoftMatcher;

  constructor({ matcher }: { matcher?: SoftMatcher } = {}) {
    this.#matcher = matcher;
  }

  async *answer(input: AnswerInput): AsyncIterable<string> {
    const picks = this.pick(input);
    const parts: string[] = [];
    let used = 0;
    for (const p of picks) {
      const source = p.passage.heading
        ? `${p.passage.documentTitle} (${p.passage.heading.split(" > ").at(-1)})`
        : p.passage.documentTitle;
      const intro = parts.length > 0
        ? `Also, from "${source}": `
        : input.tentative
        ? `The closest I found is in "${source}": `
        : `From "${source}": `;
      const text = `${intro}${p.text} [${p.index + 1}]`;
      if (used + text.length > input.maxChars && parts.length) break;
      parts.push(text);
      used += text.length + 2;
    }
    yield parts.join("\n\n");
  }

  /** The best sentence window of up to two passages. */
  pick(input: AnswerInput): { index: number; passage: Passage; text: string; score: number }[] {
    const scored: { index: number; passage: Passage; text: string; score: number }[] = [];
    const terms = this.#matcher?.terms(input.question);
    input.passages.slice(0, 3).forEach((passage, index) => {
      const list = sentences(passage.text);
      list.forEach((s, i) => {
        const match = terms
          ? this.#matcher!.score(terms, s, { floor: 0.2 })
          : overlap(input.question, s);
        // The passage's own rank matters: sentences rarely carry the whole context.
        const score = match + 0.25 / (index + 1);
        // The sentence with the one after it, or, for a passage's last, the one before it:
        // a closing sentence ("Done for a week, this…") rarely stands on its own.
        const pair = i + 1 < list.length ? [s, list[i + 1]] : [list[i - 1], s];
        const window = pair.filter(Boolean).join(" ");
        scored.push({ index, passage, text: window.length <= 420 ? window : s, score });
      });
    });
    scored.sort((a, b) => b.score - a.score);
    const best = scored[0];
    if (!best) return [];
    const second = scored.find((s) =>
      s.index !== best.index && s.passage.documentId !== best.passage.documentId &&
      s.score >= best.score * 0.92
    );
    return second ? [best, second] : [best];
  }
}

function overlap(question: string, sentence: string): number {
  const q = new Set(tokenize(question).filter((t) => !STOPWORDS.has(t)));
  if (!q.size) return 0;
  const s = new Set(tokenize(sentence));
  let hit = 0;
  for (const t of q) if (s.has(t)) hit++;
  return hit / q.size;
}

const SYSTEM = `You are {coach}'s coaching assistant. Answer only from the numbered passages of
{coach}'s material below, citing them as [1], [2]. If the passages do not answer the question, say
plainly that the material does not cover it; never guess. Keep the answer under {maxChars}
characters, in plain text, in {language}.
The user's goals: {goals}.
Conversation so far (summary): {summary}

Passages:
{passages}`;

/** A responder that asks a chat model, with prompts built by `@langchain/core`. */
export class ChatModelResponder implements Responder {
  readonly id: string;
  readonly #model: ChatModel;
  readonly #coach: string;
  readonly #prompt = ChatPromptTemplate.fromMessages([
    ["system", SYSTEM],
    new MessagesPlaceholder("history"),
    ["human", "{question}"],
  ]);

  constructor(model: ChatModel, { coach = "the coach" }: { coach?: string } = {}) {
    this.#model = model;
    this.id = `chat:${model.id}`;
    this.#coach = coach;
  }

  async messages(input: AnswerInput): Promise<ChatMessage[]> {
    const formatted = await this.#prompt.formatMessages({
      coach: this.#coach,
      maxChars: String(input.maxChars),
      language: input.profile?.language ?? "the user's language",
      goals: input.profile?.goals.join("; ") || "not stated",
      summary: input.summary || "none",
      passages: input.passages.map((p, i) =>
        `[${i + 1}] ${p.documentTitle}${p.heading ? ` — ${p.heading}` : ""}: ${p.text}`
      ).join("\n"),
      history: input.history.slice(-6).map((t) =>
        t.role === "user" ? new HumanMessage(t.text) : new AIMessage(t.text)
      ),
      question: input.question,
    });
    return formatted.map((m) => ({
      role: m.getType() === "system" ? "system" : m.getType() === "ai" ? "assistant" : "user",
      content: typeof m.content === "string" ? m.content : JSON.stringify(m.content),
    }));
  }

  async *answer(input: AnswerInput, opts: { signal?: AbortSignal } = {}): AsyncIterable<string> {
    yield* this.#model.chat(await this.messages(input), opts);
  }
}
