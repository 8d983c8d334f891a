/**
 * A file derived once from package data (word vectors, WordNet) and kept for later starts: read
 * when present, otherwise built and written atomically, so concurrent builders never see half a
 * file and a crash mid-build leaves none.
 */
import { dirname } from "node:path";

export async function cachedFile(
  file: string,
  build: () => Promise<Uint8Array>,
  { what, from, log }: { what: string; from: string; log?: (line: string) => void },
): Promise<Uint8Array> {
  try {
    return await Deno.readFile(file);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  log?.(`building the ${what} ${file} from ${from} (once)`);
  const started = performance.now();
  const bytes = await build();
  await Deno.mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${crypto.randomUUID()}.tmp`;
  await Deno.writeFile(tmp, bytes);
  await Deno.rename(tmp, file);
  log?.(`${what} built in ${Math.round(performance.now() - started)} ms`);
  return bytes;
}

/**
 * Lines of text with Float32 arrays beside them (vectors, weights), as one buffer:
 * magic(8) · text count · array count · each array's length · text bytes · arrays · texts.
 */
export function packTexts(magic: string, texts: string[], arrays: Float32Array[]): Uint8Array {
  const names = new TextEncoder().encode(texts.join("\n"));
  const header = 8 + 4 * (3 + arrays.length);
  const data = arrays.reduce((n, a) => n + a.byteLength, 0);
  const out = new Uint8Array(header + data + names.length);
  out.set(new TextEncoder().encode(magic), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, texts.length, true);
  view.setUint32(12, arrays.length, true);
  arrays.forEach((a, i) => view.setUint32(16 + 4 * i, a.length, true));
  view.setUint32(16 + 4 * arrays.length, names.length, true);
  let at = header;
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += a.byteLength;
  }
  out.set(names, at);
  return out;
}

export function unpackTexts(
  bytes: Uint8Array,
  magic: string,
  file: string,
): { texts: string[]; arrays: Float32Array[] } {
  const found = new TextDecoder().decode(bytes.subarray(0, 8));
  if (found !== magic) throw new Error(`${file} is not a ${magic} cache (${found})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(8, true);
  const lengths = Array.from(
    { length: view.getUint32(12, true) },
    (_, i) => view.getUint32(16 + 4 * i, true),
  );
  const textBytes = view.getUint32(16 + 4 * lengths.length, true);
  const body = bytes.slice(20 + 4 * lengths.length); // copy: aligned for the typed arrays
  let at = 0;
  const arrays = lengths.map((length) => {
    const a = new Float32Array(body.buffer, at, length);
    at += length * 4;
    return a;
  });
  const texts = count
    ? new TextDecoder().decode(body.subarray(at, at + textBytes)).split("\n")
    : [];
  if (texts.length !== count) throw new Error(`${file}: ${texts.length} texts for ${count}`);
  return { texts, arrays };
}
