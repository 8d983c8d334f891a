/**
 * Does a passage answer the question, rather than merely share its topic? With the word-vector
 * default a passage must first be topical (its relevance clears the threshold, or it covers the
 * question better than general definitions do); then it must hold what the question asks for:
 * the named offer ("a student discount" needs "student"), a named product, a price, a number for
 * the thing counted ("how many steps" needs steps, and a number).
 */
import type { Passage } from "../retrieval/retrieve.ts";
import type { SoftMatcher, Term } from "../language/soft_match.ts";
import { type Ask, holdsWant } from "./asks.ts";
import lemmatizer from "wink-lemmatizer";

/** A word's noun and verb lemmas ("families" → family, "booked" → book). */
const lemmas = (w: string) => [w, lemmatizer.noun(w), lemmatizer.verb(w)];

/**
 * Least hub-corrected similarity for a word of the question to count as present in a passage
 * (chosen on the dev questions: "refund" for "money back" sits at 0.27, "family" for "students"
 * at 0.25, the same word or its plural at 1).
 */
export const PRESENT = 0.5;

export type Verdict =
  | { answers: true }
  | {
    answers: false;
    reason: "off_topic" | "missing" | "no_product" | "no_price" | "no_number";
    /** Words of the question the passage lacks. */
    missing?: string[];
  };

export interface JudgeInput {
  ask: Ask;
  /** The question's terms with unknown words (names, numbers) kept. */
  terms: Term[];
  matcher: SoftMatcher;
  minRelevance: number;
  /** How well general definitions cover the question, when measured. */
  background?: number;
}

/**
 * Below the answer threshold, a passage is topical when its relevance is at least this share of
 * the threshold and exceeds the question's coverage by general definitions by this margin
 * (chosen on the earlier dev set, tests/fixtures/eval/dev.json ids v01–w43).
 */
const CONTRAST_FLOOR = 0.4;
const CONTRAST_MARGIN = 0.03;

/** True when the passage is on the question's topic (the word-vector default's measure). */
export function topical(p: Passage, j: Pick<JudgeInput, "minRelevance" | "background">) {
  if (p.relevance >= j.minRelevance) return true;
  return j.background !== undefined && p.relevance >= j.minRelevance * CONTRAST_FLOOR &&
    p.relevance - j.background >= CONTRAST_MARGIN;
}

/** Judges one passage against the question. */
export function judge(p: Passage, j: JudgeInput): Verdict {
  if (!topical(p, j)) return { answers: false, reason: "off_topic" };
  const text = `${p.heading} ${p.text}`;
  const words = j.matcher.words(text);
  const lacking = (tokens: string[]) => {
    const terms = j.terms.filter((t) => tokens.includes(t.token));
    const best = j.matcher.bestMatches(terms, words, { hubCorrected: true });
    const passageLemmas = new Set([...words.tokens].flatMap(lemmas));
    return terms.filter((t, i) =>
      (best[i] ?? 0) < PRESENT && !lemmas(t.token).some((l) => passageLemmas.has(l))
    ).map((t) => t.token);
  };
  const { want } = j.ask;
  if (want === "offer" || want === "product") {
    const missing = lacking(j.ask.specific);
    if (missing.length) return { answers: false, reason: "missing", missing };
  }
  if (want === "product" && !holdsWant("product", p.text)) {
    return { answers: false, reason: "no_product" };
  }
  if (want === "price" && !holdsWant("price", p.text)) {
    return { answers: false, reason: "no_price" };
  }
  if (want === "quantity" || want === "duration" || want === "frequency" || want === "time") {
    const missing = lacking(j.ask.counted);
    if (missing.length) return { answers: false, reason: "missing", missing };
    if (!holdsWant(want, p.text)) return { answers: false, reason: "no_number" };
  }
  return { answers: true };
}
