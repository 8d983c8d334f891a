/**
 * General knowledge to measure a question against: WordNet's 118,000 definitions ("latte: strong
 * espresso coffee with a topping of frothed steamed milk"). Word vectors rate "Who won the world
 * cup?" against "a cup of lentils" about as high as a paraphrase against the passage it means, so
 * an absolute relevance cannot tell them apart; but a question about something else is covered
 * better by some general definition ("World Cup: a soccer tournament…") than by the creator's
 * passages, while a question the knowledge answers is covered at least as well there. The
 * definitions' SIF vectors are built once into a binary cache beside the word vectors.
 */
import { resolve } from "node:path";
import { cachedFile, packTexts, unpackTexts } from "./cache_file.ts";
import type { SifEmbedder } from "./sif_embedder.ts";
import type { SoftMatcher, Term } from "./soft_match.ts";
import { definition, readSynsets, WORDNET_DICT } from "./wordnet.ts";
import { NearestIndex } from "./nearest.ts";

const MAGIC = "CDBG0002";
/** Definitions nearest the question by sentence vector that get the word-level match. */
const CANDIDATES = 300;

export interface Coverage {
  /** Best hub-corrected word match of the question among the candidate definitions, 0..1. */
  score: number;
  /** The definition that covers it best. */
  text: string;
}

export class Background {
  readonly #texts: string[];
  readonly #vectors: Float32Array;
  readonly #dims: number;
  readonly #matcher: SoftMatcher;
  readonly #nearest?: NearestIndex;

  private constructor(
    texts: string[],
    vectors: Float32Array,
    dims: number,
    matcher: SoftMatcher,
    nearest?: NearestIndex,
  ) {
    this.#texts = texts;
    this.#vectors = vectors;
    this.#dims = dims;
    this.#matcher = matcher;
    this.#nearest = nearest;
  }

  get size(): number {
    return this.#texts.length;
  }

  /** Loads the definitions' cache under `cacheDir`, building it from WordNet on first use. */
  static async load(
    { cacheDir, embedder, matcher, dict = WORDNET_DICT, log }: {
      cacheDir: string;
      embedder: SifEmbedder;
      matcher: SoftMatcher;
      dict?: URL;
      log?: (line: string) => void;
    },
  ): Promise<Background> {
    const words = embedder.wordVectors.words.length;
    const file = resolve(cacheDir, `wordnet-definitions-v2-${words}.bin`);
    const bytes = await cachedFile(file, async () => {
      const texts = [...(await readSynsets(dict)).values()].map((s) =>
        `${s.lemmas.join(", ").replaceAll("_", " ")}: ${definition(s.gloss)}`
      );
      const vectors = new Float32Array(texts.length * embedder.dimensions);
      texts.forEach((t, i) => vectors.set(embedder.embedOne(t), i * embedder.dimensions));
      return packTexts(MAGIC, texts, [vectors]);
    }, { what: "definitions cache", from: "WordNet", log });
    const { texts, arrays: [vectors] } = unpackTexts(bytes, MAGIC, file);
    const nearest = await NearestIndex.cached(file.replace(/\.bin$/, ".usearch"), {
      vectors: vectors!,
      dims: embedder.dimensions,
      log,
    });
    return new Background(texts, vectors!, embedder.dimensions, matcher, nearest);
  }

  /**
   * How well general definitions cover the question: the best word-level match among the
   * definitions nearest its sentence vector (the same measure as a passage's relevance).
   */
  coverage(terms: Term[], questionVector: number[]): Coverage {
    let best: Coverage = { score: 0, text: "" };
    const rows = this.#nearest
      ? this.#nearest.search(Float32Array.from(questionVector), CANDIDATES)
      : this.#scan(questionVector);
    for (const i of rows) {
      const score = this.#matcher.score(terms, this.#texts[i]!, { hubCorrected: true });
      if (score > best.score) best = { score, text: this.#texts[i]! };
    }
    return best;
  }

  /** The rows of the definitions nearest the question by a full scan (exact). */
  #scan(questionVector: number[]): number[] {
    const dims = this.#dims;
    const n = this.#texts.length;
    const vectors = this.#vectors;
    const q = Float32Array.from(questionVector);
    const sims = new Float32Array(n);
    for (let i = 0, o = 0; i < n; i++, o += dims) {
      let s = 0;
      for (let d = 0; d < dims; d++) s += vectors[o + d]! * q[d]!;
      sims[i] = s;
    }
    const cut = kthLargest(sims.slice(), Math.min(CANDIDATES, n));
    const rows: number[] = [];
    for (let i = 0; i < n; i++) if (sims[i]! >= cut) rows.push(i);
    return rows;
  }
}

/** The k-th largest value (quickselect; reorders `a`). */
function kthLargest(a: Float32Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  const target = a.length - k; // index of the k-th largest in ascending order
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i++] = a[j]!;
        a[j--] = t;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return a[target]!;
}
