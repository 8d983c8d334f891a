/**
 * Turns an uploaded file into plain text with Markdown-style headings (`# Title`) and, for PDFs,
 * the offset where each page starts, so chunks can cite a heading and a page. Every format is
 * held to the {@link ExtractionLimits} while it is read.
 */
import { getDocumentProxy } from "unpdf";
import mammoth from "mammoth";
// @ts-types="./_mammoth_promises.d.ts"
import mammothPromises from "mammoth/lib/promises.js";
import { Buffer } from "node:buffer";
import { htmlToText } from "./html_text.ts";
import { ExtractionError } from "./errors.ts";
import {
  checkTextChars,
  DEFAULT_LIMITS,
  type ExtractionLimits,
  LimitExceededError,
} from "./limits.ts";
import { unpackDocx } from "./docx_unpack.ts";
import { checkPdfStreams } from "./pdf_streams.ts";

export { ExtractionError };

/** PDF pages read at once: enough for pdf.js to overlap them, few enough to bound memory. */
const PAGES_IN_FLIGHT = 4;

// mammoth wraps the promises it returns by assigning `__proto__`, which Deno disables; plain
// promises carry the same results.
mammothPromises.toExternalPromise = (p: Promise<unknown>) => Promise.resolve(p);

export interface ExtractedText {
  text: string;
  /** Character offset in `text` where page i+1 starts (PDF only). */
  pageStarts?: number[];
}

export type DocumentFormat = "text" | "markdown" | "html" | "pdf" | "docx";

/** Picks the format from the MIME type, falling back to the file name's extension. */
export function formatOf(mimeType: string, filename?: string | null): DocumentFormat | undefined {
  const mime = mimeType.toLowerCase().split(";")[0]!.trim();
  const ext = filename?.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1];
  if (mime === "application/pdf" || ext === "pdf") return "pdf";
  if (
    mime === "application/vnd.openxmlformats-officedocument.wordprocessingml.document" ||
    ext === "docx"
  ) return "docx";
  if (mime === "text/html" || mime === "application/xhtml+xml" || ext === "html" || ext === "htm") {
    return "html";
  }
  if (
    mime === "text/markdown" || mime === "text/x-markdown" || ext === "md" || ext === "markdown"
  ) {
    return "markdown";
  }
  if (mime.startsWith("text/") || ext === "txt") return "text";
  return undefined;
}

/**
 * Extracts the text of a document; throws ExtractionError with a reason a creator can act on
 * (LimitExceededError when the file unpacks to more than `limits` allow).
 */
export async function extractText(
  bytes: Uint8Array,
  { mimeType, filename, limits = DEFAULT_LIMITS }: {
    mimeType: string;
    filename?: string | null;
    limits?: ExtractionLimits;
  },
): Promise<ExtractedText> {
  const format = formatOf(mimeType, filename);
  if (!format) {
    throw new ExtractionError(
      `Unsupported file type ${mimeType}${filename ? ` (${filename})` : ""}: upload text, ` +
        "Markdown, HTML, PDF or DOCX",
    );
  }
  if (bytes.length === 0) throw new ExtractionError("The file is empty");
  let out: ExtractedText;
  switch (format) {
    case "text":
    case "markdown":
      out = { text: decodeText(bytes, limits) };
      break;
    case "html":
      out = { text: htmlToText(decodeText(bytes, limits)) };
      break;
    case "pdf":
      out = await extractPdf(bytes, limits);
      break;
    case "docx":
      out = await extractDocx(bytes, limits);
      break;
  }
  checkTextChars(out.text.length, limits);
  if (!/[\p{L}\p{N}]/u.test(out.text)) {
    throw new ExtractionError(
      format === "pdf"
        ? "The PDF has no extractable text (is it a scan without a text layer?)"
        : "The document has no text",
    );
  }
  return out;
}

function decodeText(bytes: Uint8Array, limits: ExtractionLimits): string {
  // A UTF-8 character takes at least one byte: a file this short cannot pass the limit.
  if (bytes.length > limits.maxTextChars * 4) checkTextChars(bytes.length / 4, limits);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes).replace(/^\uFEFF/, "");
  } catch (err) {
    throw new ExtractionError("The file is not valid UTF-8 text", { cause: err });
  }
}

/**
 * Streams first (decoded size), then the page count from the page tree, then the text page by
 * page, one page at a time, stopping as soon as the text passes its limit.
 */
async function extractPdf(bytes: Uint8Array, limits: ExtractionLimits): Promise<ExtractedText> {
  checkPdfStreams(bytes, limits);
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
  } catch (err) {
    throw new ExtractionError(`The PDF cannot be read: ${(err as Error).message}`, { cause: err });
  }
  try {
    if (pdf.numPages > limits.maxPages) {
      throw new LimitExceededError(
        "maxPages",
        `The PDF has more than ${limits.maxPages.toLocaleString("en-US")} pages ` +
          `(${pdf.numPages.toLocaleString("en-US")})`,
      );
    }
    // A few pages in flight (pdf.js overlaps their parsing), all counted against one total.
    const counted = { chars: 0, max: limits.maxTextChars };
    const inFlight: Promise<string>[] = [];
    const pageStarts: number[] = [];
    let text = "";
    let yielded = performance.now();
    let next = 1;
    try {
      while (next <= pdf.numPages || inFlight.length) {
        while (next <= pdf.numPages && inFlight.length < PAGES_IN_FLIGHT) {
          const page = pageText(pdf, next++, counted);
          page.catch(() => {}); // handled when its turn comes; not "unhandled" before that
          inFlight.push(page);
        }
        pageStarts.push(text.length);
        text += (await inFlight.shift()!).trim() + "\n\n";
        // pdf.js answers in microtasks: without a turn of the event loop now and then nothing
        // else in this process runs (timers, the extractor noticing its node has gone).
        if (performance.now() - yielded > 50) {
          await new Promise((resolve) => setTimeout(resolve, 0));
          yielded = performance.now();
        }
      }
    } finally {
      await Promise.allSettled(inFlight);
    }
    return { text, pageStarts };
  } catch (err) {
    if (err instanceof ExtractionError) throw err;
    throw new ExtractionError(`The PDF cannot be read: ${(err as Error).message}`, { cause: err });
  } finally {
    await pdf.loadingTask.destroy();
  }
}

/**
 * One page's text as unpdf joins it (items, a newline after each line's last), read piece by
 * piece; throws once the document's running total passes its limit.
 */
async function pageText(
  pdf: Awaited<ReturnType<typeof getDocumentProxy>>,
  n: number,
  counted: { chars: number; max: number },
): Promise<string> {
  const page = await pdf.getPage(n);
  const reader = page.streamTextContent().getReader();
  let text = "";
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      const before = text.length;
      for (const item of r.value.items) {
        if ("str" in item) text += item.str + (item.hasEOL ? "\n" : "");
      }
      counted.chars += text.length - before;
      if (counted.chars > counted.max) {
        throw new LimitExceededError(
          "maxTextChars",
          `The document has more than ${counted.max.toLocaleString("en-US")} characters of text`,
        );
      }
    }
  } finally {
    // Not cancel(): pdf.js then fails to enqueue what its worker already sent, uncaught. The
    // document is destroyed right after a throw, which ends the stream.
    reader.releaseLock();
    page.cleanup();
  }
  return text;
}

async function extractDocx(bytes: Uint8Array, limits: ExtractionLimits): Promise<ExtractedText> {
  const checked = await unpackDocx(bytes, limits);
  let html: string;
  try {
    // mammoth maps Word's heading styles to <h1>…<h6>, which become Markdown headings.
    const buffer = Buffer.from(checked.buffer, checked.byteOffset, checked.byteLength);
    const result = await mammoth.convertToHtml({ buffer });
    html = result.value;
  } catch (err) {
    throw new ExtractionError(`The DOCX cannot be read: ${(err as Error).message}`, { cause: err });
  }
  return { text: htmlToText(html) };
}
