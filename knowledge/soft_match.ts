import type { SifEmbedder } from "./sif_embedder.ts";
import { STOPWORDS, tokenize } from "./tokens.ts";

/**
 * Word-level semantic overlap: for each content word of the question, its best cosine match among
 * the passage's words, weighted by how rare the question word is. Unlike a sentence average it
 * rewards a passage that has a counterpart for every idea of the question ("waking up at night"
 * ≈ "insomnia", "wake"). Scores lie in [0, 1].
 */
export class SoftMatcher {
  readonly #emb: SifEmbedder;
  readonly #norms = new Map<number, number>();

  constructor(embedder: SifEmbedder) {
    this.#emb = embedder;
  }

  /** The question's content words with their vocabulary rows and SIF weights. */
  terms(text: string): { token: string; row: number; weight: number }[] {
    const seen = new Set<string>();
    const out = [];
    for (const token of tokenize(text)) {
      if (STOPWORDS.has(token) || seen.has(token)) continue;
      seen.add(token);
      const row = this.#emb.rowOf(token);
      if (row === undefined) continue;
      out.push({ token, row, weight: this.#emb.weightOf(row) });
    }
    return out;
  }

  /** Rows of a passage's distinct content words. */
  rows(text: string): number[] {
    const rows = new Set<number>();
    for (const token of tokenize(text)) {
      if (STOPWORDS.has(token)) continue;
      const row = this.#emb.rowOf(token);
      if (row !== undefined) rows.add(row);
    }
    return [...rows];
  }

  /**
   * Weighted mean over question words of their best match in the passage. Similarities below
   * `floor` count as nothing (random GloVe pairs sit around 0.2–0.4), the rest are rescaled to
   * [0, 1], so only real counterparts add up.
   */
  score(
    question: string | ReturnType<SoftMatcher["terms"]>,
    passage: string | number[],
    { floor = 0 }: { floor?: number } = {},
  ): number {
    const terms = typeof question === "string" ? this.terms(question) : question;
    const rows = typeof passage === "string" ? this.rows(passage) : passage;
    if (!terms.length || !rows.length) return 0;
    let total = 0;
    let weights = 0;
    for (const t of terms) {
      let best = 0;
      for (const r of rows) {
        const c = r === t.row ? 1 : this.cosine(t.row, r);
        if (c > best) best = c;
      }
      total += t.weight * Math.max(0, (best - floor) / (1 - floor));
      weights += t.weight;
    }
    return total / weights;
  }

  cosine(a: number, b: number): number {
    const { vectors, dims } = this.#emb.wordVectors;
    let dot = 0;
    const oa = a * dims;
    const ob = b * dims;
    for (let d = 0; d < dims; d++) dot += vectors[oa + d]! * vectors[ob + d]!;
    return dot / (this.#norm(a) * this.#norm(b) || 1);
  }

  #norm(row: number): number {
    let n = this.#norms.get(row);
    if (n === undefined) {
      const { vectors, dims } = this.#emb.wordVectors;
      let s = 0;
      for (let d = 0; d < dims; d++) s += vectors[row * dims + d]! ** 2;
      n = Math.sqrt(s);
      this.#norms.set(row, n);
    }
    return n;
  }
}
