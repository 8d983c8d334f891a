/**
 * Unpacks a DOCX within the limits before mammoth sees it: the zip's central directory is read
 * first (entry count and declared sizes refused up front), then each entry is inflated as a
 * stream against the byte budget while its paragraphs are counted. mammoth then reads a stored
 * (uncompressed) copy of exactly the bytes that were checked, so a zip that tells one reader one
 * thing and another reader another cannot get past.
 */
import yauzl from "yauzl";
import { Buffer } from "node:buffer";
import { zipSync } from "fflate";
import { ExtractionError } from "./errors.ts";
import { type ExtractionLimits, LimitExceededError, UnpackBudget } from "./limits.ts";

const PARAGRAPH = [Buffer.from("<w:p>"), Buffer.from("<w:p ")];

/** The DOCX's files, checked, as an uncompressed zip. */
export async function unpackDocx(bytes: Uint8Array, limits: ExtractionLimits): Promise<Uint8Array> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.fromBufferPromise(
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      { lazyEntries: true, autoClose: false, validateEntrySizes: true },
    );
  } catch (err) {
    throw new ExtractionError(`The DOCX cannot be read: ${(err as Error).message}`, { cause: err });
  }
  try {
    if (zip.entryCount > limits.maxZipEntries) {
      throw new LimitExceededError(
        "maxZipEntries",
        `The DOCX holds more than ${limits.maxZipEntries.toLocaleString("en-US")} files`,
      );
    }
    const entries: yauzl.Entry[] = [];
    for await (const entry of zip.eachEntry()) {
      if (!entry.fileName.endsWith("/")) entries.push(entry);
    }
    // What the directory declares is refused before anything is inflated; yauzl then holds each
    // entry to its declared size, and the budget counts what really comes out.
    new UnpackBudget(bytes.length, limits).add(
      entries.reduce((n, e) => n + e.uncompressedSize, 0),
    );
    const budget = new UnpackBudget(bytes.length, limits);
    const files: Record<string, Uint8Array> = {};
    let paragraphs = 0;
    for (const entry of entries) {
      if (!entry.canDecodeFileData()) {
        throw new ExtractionError(`The DOCX cannot be read: ${entry.fileName} is encrypted`);
      }
      const counting = /^word\/[^/]+\.xml$/.test(entry.fileName);
      const parts: Buffer[] = [];
      let tail: Buffer = Buffer.alloc(0);
      await inflate(zip, entry, (chunk) => {
        budget.add(chunk.length);
        parts.push(chunk);
        if (!counting) return;
        const window: Buffer = tail.length ? Buffer.concat([tail, chunk]) : chunk;
        paragraphs += occurrences(window);
        if (paragraphs > limits.maxParagraphs) {
          throw new LimitExceededError(
            "maxParagraphs",
            `The DOCX has more than ${limits.maxParagraphs.toLocaleString("en-US")} paragraphs`,
          );
        }
        tail = window.subarray(Math.max(0, window.length - 4));
      });
      files[entry.fileName] = Buffer.concat(parts);
    }
    return zipSync(files, { level: 0 });
  } catch (err) {
    if (err instanceof ExtractionError) throw err;
    throw new ExtractionError(`The DOCX cannot be read: ${(err as Error).message}`, { cause: err });
  } finally {
    zip.close();
  }
}

/**
 * Feeds an entry's chunks to `onChunk` as they are inflated; settles on their end, an error, or
 * the first error `onChunk` throws (then the stream is destroyed, so inflating stops there).
 * Listeners go on in yauzl's callback: the stream starts flowing before a promise would resume.
 */
function inflate(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  onChunk: (chunk: Buffer) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (openError, stream) => {
      if (openError) return reject(openError);
      let settled = false;
      const settle = (err?: unknown) => {
        if (settled) return;
        settled = true;
        if (err === undefined) return resolve();
        stream.destroy();
        reject(err);
      };
      // Errors after the first (yauzl forwards zlib's late) are ignored.
      stream.on("error", settle);
      stream.on("end", () => settle());
      stream.on("data", (chunk: Buffer) => {
        if (settled) return;
        try {
          onChunk(chunk);
        } catch (err) {
          settle(err);
        }
      });
    });
  });
}

/**
 * Paragraph openings in `window`. The 4 bytes carried over from the last chunk are shorter than
 * a needle, so no opening is counted twice and none split across chunks is missed.
 */
function occurrences(window: Buffer): number {
  let n = 0;
  for (const needle of PARAGRAPH) {
    let at = window.indexOf(needle);
    while (at >= 0) {
      n++;
      at = window.indexOf(needle, at + needle.length);
    }
  }
  return n;
}
