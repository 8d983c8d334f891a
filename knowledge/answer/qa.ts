/** Checks an answer before it is sent: grounding, refusal, length and format, tenancy. */
import type { Passage } from "../retrieval/retrieve.ts";
import { sentences } from "../language/sentences.ts";
import { STOPWORDS, tokenize } from "../language/tokens.ts";

/**
 * How an answer must look where it will be shown: the caller knows the channel and passes its
 * rules (actors/contracts/channel.ts has them per channel).
 */
export interface AnswerFormat {
  /** Most characters shown well in one message. */
  maxChars: number;
  /** Markdown renders there; otherwise it is stripped. */
  markdown: boolean;
}

export interface QaVerdict {
  /** Every check passed (a refusal passes when nothing relevant was found). */
  ok: boolean;
  /** Share of answer sentences supported by the cited passages, 0..1. */
  grounding: number;
  grounded: boolean;
  refused: boolean;
  citationsValid: boolean;
  lengthOk: boolean;
  /** Every passage used belongs to the asking creator. */
  tenantOk: boolean;
  problems: string[];
}

const MIN_SUPPORT = 0.6;

/** How much of a sentence's content words appear in the passages (lexical support). */
function support(sentence: string, passageWords: Set<string>): number {
  const words = tokenize(sentence.replace(/\[\d+\]/g, "")).filter((w) => !STOPWORDS.has(w));
  if (!words.length) return 1;
  return words.filter((w) => passageWords.has(w)).length / words.length;
}

/** Runs the checks on a finished answer. */
export function checkAnswer(
  { answer, passages, creatorId, passageCreators, refused, format }: {
    answer: string;
    passages: Passage[];
    creatorId: string;
    /** Creator of each passage as recorded with it (from Postgres, under row-level security). */
    passageCreators: string[];
    refused: boolean;
    format: AnswerFormat;
  },
): QaVerdict {
  const problems: string[] = [];
  const lengthOk = answer.length <= format.maxChars;
  if (!lengthOk) {
    problems.push(`answer has ${answer.length} characters, the channel allows ${format.maxChars}`);
  }
  const tenantOk = passageCreators.every((c) => c === creatorId);
  if (!tenantOk) problems.push("a passage from another creator reached the answer");
  if (refused) {
    return {
      ok: lengthOk && tenantOk,
      grounding: 1,
      grounded: true,
      refused,
      citationsValid: true,
      lengthOk,
      tenantOk,
      problems,
    };
  }
  const cited = [...answer.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1]));
  const citationsValid = cited.length > 0 && cited.every((n) => n >= 1 && n <= passages.length);
  if (!citationsValid) {
    problems.push("the answer cites no passage or a passage that was not retrieved");
  }
  const words = new Set(
    passages.flatMap((p) => tokenize(`${p.documentTitle} ${p.heading} ${p.text}`)),
  );
  const claims = sentences(
    answer.replace(/^(?:(?:Also, )?[Ff]rom|The closest I found is in) "[^"]*": /gm, ""),
  );
  const supported = claims.filter((s) => support(s, words) >= MIN_SUPPORT).length;
  const grounding = claims.length ? supported / claims.length : 0;
  const grounded = grounding >= 0.8;
  if (!grounded) {
    problems.push(
      `only ${Math.round(grounding * 100)}% of the answer is supported by the passages`,
    );
  }
  return {
    ok: grounded && citationsValid && lengthOk && tenantOk,
    grounding,
    grounded,
    refused,
    citationsValid,
    lengthOk,
    tenantOk,
    problems,
  };
}

/** Fits an answer to its format: plain text where Markdown does not render, and its length. */
export function formatAnswer(answer: string, rules: AnswerFormat): string {
  let text = answer;
  if (!rules.markdown) {
    text = text.replace(/^#{1,6}\s+/gm, "").replace(/\*\*(.+?)\*\*/g, "$1").replace(
      /`([^`]+)`/g,
      "$1",
    );
  }
  if (text.length > rules.maxChars) {
    const cut = text.slice(0, rules.maxChars - 1);
    const end = Math.max(cut.lastIndexOf(". "), cut.lastIndexOf("\n"));
    text = (end > rules.maxChars * 0.5 ? cut.slice(0, end + 1) : cut).trimEnd() + "…";
  }
  return text;
}
