import type { Embedder } from "../models/models.ts";
import { tokenize } from "./tokens.ts";
import { type WordVectors, zipfProbability } from "./word_vectors.ts";

/**
 * Sentence embedder with no model server: the SIF-weighted average of GloVe word vectors with the
 * common direction removed (Arora et al., "A Simple but Tough-to-Beat Baseline for Sentence
 * Embeddings", 2017). Rare words weigh more than frequent ones; words outside the vocabulary are
 * left to the lexical half of hybrid retrieval.
 */
export class SifEmbedder implements Embedder {
  readonly id = "sif-glove100";
  readonly dimensions: number;
  readonly #wv: WordVectors;
  readonly #a: number;

  constructor(wv: WordVectors, { a = 1e-3 } = {}) {
    this.#wv = wv;
    this.dimensions = wv.dims;
    this.#a = a;
  }

  get wordVectors(): WordVectors {
    return this.#wv;
  }

  /** SIF weight of a word by its frequency rank: a / (a + p(w)). */
  weightOf(row: number): number {
    return this.#a / (this.#a + zipfProbability(row, this.#wv.words.length));
  }

  /** Vocabulary row of a token, trying plain inflection stripping for unknown forms. */
  rowOf(token: string): number | undefined {
    const idx = this.#wv.index;
    return idx.get(token) ?? (token.endsWith("s") ? idx.get(token.slice(0, -1)) : undefined);
  }

  /** Vectors of texts embedded lately (chunk texts are embedded again with every query). */
  readonly #recent = new Map<string, number[]>();

  embed(texts: string[]): Promise<number[][]> {
    return Promise.resolve(texts.map((t) => {
      let v = this.#recent.get(t);
      if (!v) {
        v = this.embedOne(t);
        if (this.#recent.size >= 20_000) this.#recent.delete(this.#recent.keys().next().value!);
        this.#recent.set(t, v);
      }
      return v;
    }));
  }

  embedOne(text: string): number[] {
    const { dims, vectors, common } = this.#wv;
    const sum = new Float64Array(dims);
    let weight = 0;
    for (const token of tokenize(text)) {
      const row = this.rowOf(token);
      if (row === undefined) continue;
      const w = this.weightOf(row);
      weight += w;
      const o = row * dims;
      for (let d = 0; d < dims; d++) sum[d]! += w * vectors[o + d]!;
    }
    if (weight === 0) return Array.from({ length: dims }, () => 0);
    let dot = 0;
    for (let d = 0; d < dims; d++) dot += sum[d]! * common[d]!;
    let norm = 0;
    for (let d = 0; d < dims; d++) {
      sum[d] = sum[d]! - dot * common[d]!;
      norm += sum[d]! * sum[d]!;
    }
    norm = Math.sqrt(norm) || 1;
    return Array.from(sum, (x) => x / norm);
  }
}
