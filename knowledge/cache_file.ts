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
