/**
 * With a chat model: one call reranks the retrieved passages and judges whether any answers the
 * question (contains what it asks for, not only its topic). The answer is then written from the
 * passages it names, and only those.
 */
import { type ChatModel, complete, ModelError } from "../models/models.ts";
import type { Passage } from "../retrieval/retrieve.ts";
import type { Turn } from "./responder.ts";

export interface Judgement {
  /** Passages that answer, best first (indexes into the passages judged); empty: none does. */
  answering: number[];
  reason: string;
}

/** Decides which passages answer a question. */
export interface AnswerJudge {
  readonly id: string;
  judge(
    input: { question: string; passages: Passage[]; history: Turn[] },
    opts?: { signal?: AbortSignal },
  ): Promise<Judgement>;
}

const SYSTEM = `You check whether passages from a coach's material answer a user's question.
A passage answers only if it contains what the question asks for: the quantity, the named product
or brand, the specific offer or policy, the instruction. A passage on the same topic that lacks it
does not answer. Reply with a JSON object only:
{"answering": [numbers of the passages that answer, best first], "reason": "one short sentence"}
Use an empty list when no passage answers.`;

export class ChatModelJudge implements AnswerJudge {
  readonly id: string;
  readonly #model: ChatModel;

  constructor(model: ChatModel) {
    this.#model = model;
    this.id = `judge:${model.id}`;
  }

  async judge(
    { question, passages, history }: { question: string; passages: Passage[]; history: Turn[] },
    opts: { signal?: AbortSignal } = {},
  ): Promise<Judgement> {
    if (!passages.length) return { answering: [], reason: "nothing retrieved" };
    const earlier = history.filter((t) => t.role === "user").slice(-2).map((t) => t.text);
    const user = [
      earlier.length ? `Earlier questions: ${earlier.join(" / ")}` : "",
      `Question: ${question}`,
      "Passages:",
      ...passages.map((p, i) =>
        `[${i + 1}] ${p.documentTitle}${p.heading ? ` — ${p.heading}` : ""}: ${p.text}`
      ),
    ].filter(Boolean).join("\n");
    const raw = await complete(this.#model, [
      { role: "system", content: SYSTEM },
      { role: "user", content: user },
    ], { ...opts, json: true });
    return parseJudgement(raw, passages.length);
  }
}

/** Reads the judge's JSON; numbers outside 1..count are dropped. */
export function parseJudgement(raw: string, count: number): Judgement {
  const json = raw.slice(raw.indexOf("{"), raw.lastIndexOf("}") + 1);
  let parsed: { answering?: unknown; reason?: unknown };
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new ModelError(`The judge did not reply with JSON: ${raw.slice(0, 200)}`, {
      cause: err,
    });
  }
  const list = Array.isArray(parsed.answering) ? parsed.answering : [];
  const answering = [
    ...new Set(
      list.map(Number).filter((n) => Number.isInteger(n) && n >= 1 && n <= count).map((n) => n - 1),
    ),
  ];
  return { answering, reason: typeof parsed.reason === "string" ? parsed.reason : "" };
}
