/**
 * Turns an uploaded file into plain text with Markdown-style headings (`# Title`) and, for PDFs,
 * the offset where each page starts, so chunks can cite a heading and a page.
 */
import { extractText as pdfText, getDocumentProxy } from "unpdf";
import mammoth from "mammoth";
// @ts-types="./_mammoth_promises.d.ts"
import mammothPromises from "mammoth/lib/promises.js";
import { Buffer } from "node:buffer";
import { htmlToText } from "./html_text.ts";

// mammoth wraps the promises it returns by assigning `__proto__`, which Deno disables; plain
// promises carry the same results.
mammothPromises.toExternalPromise = (p: Promise<unknown>) => Promise.resolve(p);

export interface ExtractedText {
  text: string;
  /** Character offset in `text` where page i+1 starts (PDF only). */
  pageStarts?: number[];
}

/** A file whose content cannot become text: unsupported, corrupt or empty. */
export class ExtractionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ExtractionError";
  }
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

/** Extracts the text of a document; throws ExtractionError with a reason a creator can act on. */
export async function extractText(
  bytes: Uint8Array,
  { mimeType, filename }: { mimeType: string; filename?: string | null },
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
      out = { text: decodeText(bytes) };
      break;
    case "html":
      out = { text: htmlToText(decodeText(bytes)) };
      break;
    case "pdf":
      out = await extractPdf(bytes);
      break;
    case "docx":
      out = await extractDocx(bytes);
      break;
  }
  if (!/[\p{L}\p{N}]/u.test(out.text)) {
    throw new ExtractionError(
      format === "pdf"
        ? "The PDF has no extractable text (is it a scan without a text layer?)"
        : "The document has no text",
    );
  }
  return out;
}

function decodeText(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes).replace(/^\uFEFF/, "");
  } catch (err) {
    throw new ExtractionError("The file is not valid UTF-8 text", { cause: err });
  }
}

async function extractPdf(bytes: Uint8Array): Promise<ExtractedText> {
  let pages: string[];
  try {
    const pdf = await getDocumentProxy(new Uint8Array(bytes));
    pages = (await pdfText(pdf, { mergePages: false })).text;
  } catch (err) {
    throw new ExtractionError(`The PDF cannot be read: ${(err as Error).message}`, { cause: err });
  }
  const pageStarts: number[] = [];
  let text = "";
  for (const page of pages) {
    pageStarts.push(text.length);
    text += page.trim() + "\n\n";
  }
  return { text, pageStarts };
}

async function extractDocx(bytes: Uint8Array): Promise<ExtractedText> {
  let html: string;
  try {
    // mammoth maps Word's heading styles to <h1>…<h6>, which become Markdown headings.
    const result = await mammoth.convertToHtml({ buffer: Buffer.from(bytes) });
    html = result.value;
  } catch (err) {
    throw new ExtractionError(`The DOCX cannot be read: ${(err as Error).message}`, { cause: err });
  }
  return { text: htmlToText(html) };
}
