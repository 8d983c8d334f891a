/** Why a document could not be read, split by whether trying again can help. */

/**
 * A file whose content cannot become text: unsupported, corrupt, empty, too large once unpacked,
 * or too heavy to read within the extractor's memory and time. Terminal: the same file fails the
 * same way again, so the document is marked failed with this message as its reason.
 */
export class ExtractionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ExtractionError";
  }
}

/**
 * The extractor process ended without an answer for a reason that is not known to be the
 * document's (killed from outside, crashed): retryable, up to the queue's attempts.
 */
export class ExtractorCrashedError extends Error {
  constructor(message: string, readonly exit: { code: number; signal: string | null }) {
    super(message);
    this.name = "ExtractorCrashedError";
  }
}
