/**
 * How much a document may unpack to. Every limit is checked while the document is being unpacked
 * or read, so a file that would exceed one stops there: a small upload can never make the
 * extractor hold more than these amounts.
 */
import { ExtractionError } from "./errors.ts";

export interface ExtractionLimits {
  /** Bytes a file may unpack to: a DOCX's zip entries, a PDF's decoded streams. */
  maxUnpackedBytes: number;
  /** Unpacked bytes ÷ file size, checked once a file has unpacked more than 1 MB. */
  maxCompressionRatio: number;
  /** Entries in a DOCX's zip. */
  maxZipEntries: number;
  /** Pages of a PDF, read from its page tree before any page is. */
  maxPages: number;
  /** Paragraphs (`<w:p>`) of a DOCX, counted while its XML is inflated. */
  maxParagraphs: number;
  /** Characters of extracted text, counted page by page (PDF) or part by part. */
  maxTextChars: number;
  /** Chunks a document may be cut into. */
  maxChunks: number;
}

export const DEFAULT_LIMITS: ExtractionLimits = {
  maxUnpackedBytes: 50 * 1024 * 1024,
  maxCompressionRatio: 100,
  maxZipEntries: 1_000,
  maxPages: 2_000,
  maxParagraphs: 50_000,
  maxTextChars: 5_000_000,
  maxChunks: 10_000,
};

/** Below this many unpacked bytes the compression ratio is not checked (small files vary). */
export const RATIO_FLOOR_BYTES = 1024 * 1024;

/** A document that exceeds one of the {@link ExtractionLimits}; `limit` names which. */
export class LimitExceededError extends ExtractionError {
  constructor(readonly limit: keyof ExtractionLimits, message: string) {
    super(message);
    this.name = "LimitExceededError";
  }
}

/**
 * Counts unpacked bytes against the size and ratio limits as they are produced.
 *
 * @example
 * ```ts
 * const budget = new UnpackBudget(1000, { ...DEFAULT_LIMITS, maxUnpackedBytes: 2 ** 20 });
 * budget.add(512 * 1024); // fine
 * ```
 */
export class UnpackBudget {
  #used = 0;
  constructor(private readonly fileBytes: number, private readonly limits: ExtractionLimits) {}

  get used(): number {
    return this.#used;
  }

  /** Bytes still allowed before {@link add} throws. */
  get left(): number {
    const byRatio = Math.max(
      RATIO_FLOOR_BYTES,
      this.fileBytes * this.limits.maxCompressionRatio,
    );
    return Math.max(0, Math.min(this.limits.maxUnpackedBytes, byRatio) - this.#used);
  }

  /** @throws {LimitExceededError} once the total passes the size or ratio limit */
  add(bytes: number): void {
    this.#used += bytes;
    if (this.#used > this.limits.maxUnpackedBytes) {
      throw new LimitExceededError(
        "maxUnpackedBytes",
        `The file unpacks to more than ${megabytes(this.limits.maxUnpackedBytes)}`,
      );
    }
    if (
      this.#used > RATIO_FLOOR_BYTES &&
      this.#used > this.fileBytes * this.limits.maxCompressionRatio
    ) {
      throw new LimitExceededError(
        "maxCompressionRatio",
        `The file unpacks to more than ${this.limits.maxCompressionRatio} times its size ` +
          `(${megabytes(this.fileBytes)} unpacking to over ${megabytes(this.#used)})`,
      );
    }
  }
}

/** Checks an extracted text's running length. */
export function checkTextChars(chars: number, limits: ExtractionLimits): void {
  if (chars > limits.maxTextChars) {
    throw new LimitExceededError(
      "maxTextChars",
      `The document has more than ${
        limits.maxTextChars.toLocaleString("en-US")
      } characters of text`,
    );
  }
}

/** `52428800` → `"50 MB"`, `1536` → `"1.5 KB"`: sizes as a creator reads them (1 MB = 2^20). */
export function megabytes(bytes: number): string {
  const units = ["bytes", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = Number.isInteger(value) ? String(value) : value.toFixed(1).replace(/\.0$/, "");
  return `${shown} ${units[unit]}`;
}
