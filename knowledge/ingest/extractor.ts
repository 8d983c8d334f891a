/**
 * Reading a document into chunks, and the seam that lets it run in another process: the
 * ingestion worker reads through an {@link ExtractorPool} (knowledge/ingest/extractor_pool.ts);
 * {@link inProcessExtractor} reads in the caller's process, for trusted files such as seeds.
 */
import { type Chunk, chunkText } from "./chunk.ts";
import { ExtractionError } from "./errors.ts";
import { extractText } from "./extract.ts";
import { DEFAULT_LIMITS, type ExtractionLimits } from "./limits.ts";

/** A document read into chunks. */
export interface ReadDocument {
  chunks: Chunk[];
  /** Pages (PDF only). */
  pages?: number;
}

export interface DocumentFile {
  mimeType: string;
  filename?: string | null;
}

/** Turns a file into chunks, or fails with an ExtractionError that says why. */
export interface Extractor {
  read(bytes: Uint8Array, file: DocumentFile): Promise<ReadDocument>;
}

/** Extracts and chunks a document within `limits`. */
export async function readDocument(
  bytes: Uint8Array,
  { mimeType, filename, limits = DEFAULT_LIMITS }: DocumentFile & { limits?: ExtractionLimits },
): Promise<ReadDocument> {
  const extracted = await extractText(bytes, { mimeType, filename, limits });
  const chunks = await chunkText(extracted, { maxChunks: limits.maxChunks });
  if (!chunks.length) throw new ExtractionError("The document has no text to index");
  return { chunks, pages: extracted.pageStarts?.length };
}

/**
 * Reads in this process, within the limits but without a memory or time ceiling of its own: for
 * files the operator trusts (seeds, evaluations), never for uploads.
 */
export function inProcessExtractor(limits: ExtractionLimits = DEFAULT_LIMITS): Extractor {
  return { read: (bytes, file) => readDocument(bytes, { ...file, limits }) };
}
