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
  readonly #hubness = new Map<number, number>();
  #reference?: number[];

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
    { floor = 0, hubCorrected = false }: { floor?: number; hubCorrected?: boolean } = {},
  ): number {
    const terms = typeof question === "string" ? this.terms(question) : question;
    const rows = typeof passage === "string" ? this.rows(passage) : passage;
    if (!terms.length || !rows.length) return 0;
    let total = 0;
    let weights = 0;
    for (const t of terms) {
      let best = 0;
      for (const r of rows) {
        const c = r === t.row
          ? 1
          : hubCorrected
          ? Math.min(1, 2 * this.cosine(t.row, r) - this.hubness(t.row) - this.hubness(r))
          : this.cosine(t.row, r);
        if (c > best) best = c;
      }
      total += t.weight * Math.max(0, (best - floor) / (1 - floor));
      weights += t.weight;
    }
    return total / weights;
  }

  /**
   * How close a word sits to words in general: the mean cosine of its 50 nearest words in a fixed
   * sample of 2,000 frequent words. "Hub" words (time, way, thing) are near everything; the
   * hub-corrected similarity 2·cos − h(a) − h(b) (CSLS, Conneau et al. 2018) discounts them.
   */
  hubness(row: number): number {
    let h = this.#hubness.get(row);
    if (h === undefined) {
      this.#reference ??= referenceSample(this.#emb.wordVectors.words.length);
      const sims = this.#reference.map((r) => this.cosine(row, r)).sort((a, b) => b - a);
      h = sims.slice(0, 50).reduce((a, b) => a + b, 0) / 50;
      this.#hubness.set(row, h);
    }
    return h;
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

/** 2,000 deterministic rows among the 100th–30,100th most frequent words. */
function referenceSample(vocabulary: number): number[] {
  const out: number[] = [];
  let seed = 7;
  for (let i = 0; i < 2000; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    out.push(Math.min(vocabulary - 1, 100 + (seed % 30000)));
  }
  return out;
}
