import { resolve } from "node:path";
import type { SifEmbedder } from "./sif_embedder.ts";
import { cachedFile } from "./cache_file.ts";
import { meanTopInnerProducts } from "./nearest.ts";
import { type PhraseLexicon, type Segment, segment } from "./phrases.ts";
import { STOPWORDS, tokenize } from "./tokens.ts";

/**
 * A question word or phrase: vocabulary row (-1 when unknown; phrases follow the vocabulary) and
 * SIF weight.
 */
export interface Term {
  token: string;
  row: number;
  weight: number;
}

/** A passage's content words as vocabulary rows, plus its tokens for literal matches. */
export interface PassageWords {
  rows: number[];
  tokens: Set<string>;
  /** The passage states a number. */
  numbers: boolean;
}

const isNumber = (token: string) => /\d/.test(token);
/** Texts whose words are kept (first in, first out). */
const WORDS_CACHED = 50_000;

/**
 * Word-level semantic overlap: for each content word of the question, its best cosine match among
 * the passage's words, weighted by how rare the question word is. Unlike a sentence average it
 * rewards a passage that has a counterpart for every idea of the question ("waking up at night"
 * ≈ "insomnia", "wake"). Scores lie in [0, 1].
 */
export class SoftMatcher {
  readonly #emb: SifEmbedder;
  readonly #phrases?: PhraseLexicon;
  readonly #vocabulary: number;
  /** Vector lengths by row, NaN until computed. */
  #norms?: Float32Array;
  readonly #hubness = new Map<number, number>();
  #reference?: Float64Array;
  readonly #words = new Map<string, PassageWords>();
  /** Every row's hubness, when precomputed (`loadHubness`). */
  #hubTable?: Float32Array;

  constructor(embedder: SifEmbedder, { phrases }: { phrases?: PhraseLexicon } = {}) {
    this.#emb = embedder;
    this.#phrases = phrases;
    this.#vocabulary = embedder.wordVectors.words.length;
  }

  /** Tokens read as words and WordNet phrases ("nod off" is one unit, meaning fall asleep). */
  #segments(tokens: string[]): Segment[] {
    return this.#phrases
      ? segment(tokens, this.#phrases)
      : tokens.map((text) => ({ text, span: 1 }));
  }

  /**
   * The question's content words with their vocabulary rows and SIF weights. With `unknown`, words
   * outside the vocabulary (names, numbers, rare terms) are kept too, with row -1 and the weight of
   * the rarest words: they can only be matched literally, and leaving them out would overstate how
   * much of the question a passage answers ("the 2018 final" is not covered by "final").
   */
  terms(text: string, { unknown = false }: { unknown?: boolean } = {}): Term[] {
    const seen = new Set<string>();
    const out: Term[] = [];
    // A possessive counts as its noun.
    const tokens = tokenize(text).map((t) => (t.endsWith("'s") ? t.slice(0, -2) : t));
    for (const seg of this.#segments(tokens)) {
      const token = seg.text;
      if (seen.has(token)) continue;
      if (seg.phrase !== undefined) {
        seen.add(token);
        const weight = this.#phrases!.weights[seg.phrase]!;
        out.push({ token, row: this.#vocabulary + seg.phrase, weight });
        continue;
      }
      // Contractions ("can't", "when's") are function words.
      if (STOPWORDS.has(token) || token.includes("'")) continue;
      seen.add(token);
      const row = this.#emb.rowOf(token);
      if (row !== undefined) out.push({ token, row, weight: this.#emb.weightOf(row) });
      else if (unknown) out.push({ token, row: -1, weight: 1 });
    }
    return out;
  }

  /**
   * A passage's distinct content words: vocabulary rows, and the tokens themselves. Kept for the
   * texts read most recently (chunks and definitions are read again and again).
   */
  words(text: string): PassageWords {
    const cached = this.#words.get(text);
    if (cached) return cached;
    const words = this.#readWords(text);
    if (this.#words.size >= WORDS_CACHED) {
      this.#words.delete(this.#words.keys().next().value!);
    }
    this.#words.set(text, words);
    return words;
  }

  #readWords(text: string): PassageWords {
    const rows = new Set<number>();
    const tokens = new Set<string>();
    let numbers = false;
    const all = tokenize(text);
    for (const token of all) {
      tokens.add(token);
      if (isNumber(token)) numbers = true;
      if (STOPWORDS.has(token)) continue;
      const row = this.#emb.rowOf(token);
      if (row !== undefined) rows.add(row);
    }
    // A passage offers its phrases as well as their words: either may be what a question asks.
    for (const seg of this.#segments(all)) {
      if (seg.phrase === undefined) continue;
      tokens.add(seg.text);
      rows.add(this.#vocabulary + seg.phrase);
    }
    return { rows: [...rows], tokens, numbers };
  }

  /** Rows of a passage's distinct content words. */
  rows(text: string): number[] {
    return this.words(text).rows;
  }

  /**
   * Weighted mean over question words of their best match in the passage. Similarities below
   * `floor` count as nothing (random GloVe pairs sit around 0.2–0.4), the rest are rescaled to
   * [0, 1], so only real counterparts add up.
   */
  score(
    question: string | Term[],
    passage: string | PassageWords,
    { floor = 0, hubCorrected = false }: { floor?: number; hubCorrected?: boolean } = {},
  ): number {
    const terms = typeof question === "string" ? this.terms(question) : question;
    const best = this.bestMatches(terms, passage, { hubCorrected });
    if (!best.length) return 0;
    return SoftMatcher.weighted(terms, best, floor);
  }

  /**
   * Each question term's best similarity to a word of the passage (1 for the same word). An
   * unknown word (a name) counts only where the passage has it literally; a number counts half
   * against a passage that states other numbers (the same kind of fact). Empty when either side
   * has no content words.
   */
  bestMatches(
    terms: Term[],
    passage: string | PassageWords,
    { hubCorrected = false }: { hubCorrected?: boolean } = {},
  ): number[] {
    const both = this.bestMatchesBoth(terms, passage);
    return hubCorrected ? both.hub : both.plain;
  }

  /**
   * Each term's best plain and best hub-corrected similarity in one pass (ranking wants the
   * first, relevance the second, and the cosines are the same).
   */
  bestMatchesBoth(
    terms: Term[],
    passage: string | PassageWords,
  ): { plain: number[]; hub: number[] } {
    const words = typeof passage === "string" ? this.words(passage) : passage;
    const rows = words.rows;
    const plain: number[] = [];
    const hub: number[] = [];
    if (!terms.length || !rows.length) return { plain, hub };
    // The hot loop of every turn: no allocation, typed arrays only.
    const dims = this.#emb.wordVectors.dims;
    const wordVectors = this.#emb.wordVectors.vectors;
    const phrases = this.#phrases?.vectors;
    const vocabulary = this.#vocabulary;
    for (const t of terms) {
      if (t.row < 0) {
        const literal = words.tokens.has(t.token)
          ? 1
          : isNumber(t.token) && words.numbers
          ? 0.5
          : 0;
        plain.push(literal);
        hub.push(literal);
        continue;
      }
      const ta = t.row < vocabulary ? wordVectors : phrases!;
      const oa = (t.row < vocabulary ? t.row : t.row - vocabulary) * dims;
      const na = this.#norm(t.row);
      const ha = this.hubness(t.row);
      let bestPlain = 0;
      let bestHub = 0;
      for (const r of rows) {
        if (r === t.row) {
          bestPlain = bestHub = 1;
          break;
        }
        const tb = r < vocabulary ? wordVectors : phrases!;
        const ob = (r < vocabulary ? r : r - vocabulary) * dims;
        let dot = 0;
        for (let d = 0; d < dims; d++) dot += ta[oa + d]! * tb[ob + d]!;
        const cos = dot / (na * this.#norm(r) || 1);
        if (cos > bestPlain) bestPlain = cos;
        const corrected = Math.min(1, 2 * cos - ha - this.hubness(r));
        if (corrected > bestHub) bestHub = corrected;
      }
      plain.push(bestPlain);
      hub.push(bestHub);
    }
    return { plain, hub };
  }

  /** The weighted mean of terms' best similarities, rescaled above `floor` (see `score`). */
  static weighted(terms: Term[], best: number[], floor = 0): number {
    let total = 0;
    let weights = 0;
    terms.forEach((t, i) => {
      total += t.weight * Math.max(0, ((best[i] ?? 0) - floor) / (1 - floor));
      weights += t.weight;
    });
    return weights ? total / weights : 0;
  }

  /**
   * How close a word sits to words in general: the mean cosine of its 50 nearest words in a fixed
   * sample of 2,000 frequent words. "Hub" words (time, way, thing) are near everything; the
   * hub-corrected similarity 2·cos − h(a) − h(b) (CSLS, Conneau et al. 2018) discounts them.
   */
  hubness(row: number): number {
    if (this.#hubTable) return this.#hubTable[row]!;
    let h = this.#hubness.get(row);
    if (h === undefined) {
      const { dims } = this.#emb.wordVectors;
      const reference = this.#reference ??= this.#unitRows(
        referenceSample(this.#emb.wordVectors.words.length),
      );
      const [v, o] = this.#vector(row);
      const norm = this.#norm(row) || 1;
      const sims = new Float64Array(reference.length / dims);
      for (let i = 0; i < sims.length; i++) {
        let dot = 0;
        const ro = i * dims;
        for (let d = 0; d < dims; d++) dot += v[o + d]! * reference[ro + d]!;
        sims[i] = dot / norm;
      }
      sims.sort(); // ascending: the 50 nearest are last
      let sum = 0;
      for (let i = sims.length - 50; i < sims.length; i++) sum += sims[i]!;
      h = sum / 50;
      this.#hubness.set(row, h);
    }
    return h;
  }

  /**
   * Loads every row's hubness from `cacheDir`, computing it once (an exact search of each word
   * and phrase against the reference sample, a few seconds on two cores): computed on demand, the
   * first questions that meet a few hundred new words (in the general definitions they are
   * weighed against) took up to a second.
   */
  async loadHubness(
    { cacheDir, log }: { cacheDir: string; log?: (line: string) => void },
  ): Promise<void> {
    const rows = this.#vocabulary + (this.#phrases?.weights.length ?? 0);
    const file = resolve(cacheDir, `hubness-v2-${this.#vocabulary}-${rows}.bin`);
    const bytes = await cachedFile(file, () => {
      const { dims } = this.#emb.wordVectors;
      const sample = new Map<number, number>();
      for (const row of referenceSample(this.#vocabulary)) {
        sample.set(row, (sample.get(row) ?? 0) + 1);
      }
      const reference = Float32Array.from(this.#unitRows([...sample.keys()]));
      const counts = [...sample.values()];
      const table = new Float32Array(rows);
      const batch = 20_000;
      for (let start = 0; start < rows; start += batch) {
        const ids = Array.from({ length: Math.min(batch, rows - start) }, (_, i) => start + i);
        const queries = Float32Array.from(this.#unitRows(ids));
        table.set(
          meanTopInnerProducts({ dataset: reference, counts, queries, dims, k: 50 }),
          start,
        );
      }
      return Promise.resolve(new Uint8Array(table.buffer));
    }, { what: "hubness table", from: "the word and phrase vectors", log });
    if (bytes.byteLength !== rows * 4) {
      throw new Error(`${file} has ${bytes.byteLength / 4} rows, expected ${rows}`);
    }
    this.#hubTable = new Float32Array(bytes.slice().buffer);
  }

  /** The rows' vectors scaled to unit length, one after another. */
  #unitRows(rows: number[]): Float64Array {
    const { dims } = this.#emb.wordVectors;
    const out = new Float64Array(rows.length * dims);
    rows.forEach((row, i) => {
      const [v, o] = this.#vector(row);
      const norm = this.#norm(row) || 1;
      for (let d = 0; d < dims; d++) out[i * dims + d] = v[o + d]! / norm;
    });
    return out;
  }

  cosine(a: number, b: number): number {
    const { dims } = this.#emb.wordVectors;
    const [va, oa] = this.#vector(a);
    const [vb, ob] = this.#vector(b);
    let dot = 0;
    for (let d = 0; d < dims; d++) dot += va[oa + d]! * vb[ob + d]!;
    return dot / (this.#norm(a) * this.#norm(b) || 1);
  }

  /** The array holding a row's vector and the row's offset in it (phrases after words). */
  #vector(row: number): [Float32Array, number] {
    const { vectors, dims } = this.#emb.wordVectors;
    if (row < this.#vocabulary) return [vectors, row * dims];
    return [this.#phrases!.vectors, (row - this.#vocabulary) * dims];
  }

  #norm(row: number): number {
    const norms = this.#norms ??= new Float32Array(
      this.#vocabulary + (this.#phrases?.weights.length ?? 0),
    ).fill(NaN);
    let n = norms[row]!;
    if (Number.isNaN(n)) {
      const { dims } = this.#emb.wordVectors;
      const [v, o] = this.#vector(row);
      let s = 0;
      for (let d = 0; d < dims; d++) s += v[o + d]! ** 2;
      n = norms[row] = Math.sqrt(s);
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
