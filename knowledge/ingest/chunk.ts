import { RecursiveCharacterTextSplitter } from "@langchain/textsplitters";
import type { ExtractedText } from "./extract.ts";
import { LimitExceededError } from "./limits.ts";
import { headingLines } from "./outline.ts";

/** One piece of a document, with where it came from. */
export interface Chunk {
  ordinal: number;
  /** Heading path above the chunk, e.g. `Sleep > Caffeine`. */
  heading: string;
  text: string;
  /** Character offsets of `text` in the extracted document text. */
  start: number;
  end: number;
  /** 1-based page (PDF only). */
  page?: number;
}

interface Section {
  heading: string;
  body: string;
  start: number;
}

/**
 * Splits extracted text into chunks that keep their heading path and source position: first by
 * Markdown headings, then each section with LangChain's recursive splitter (paragraphs, then
 * lines, then sentences). Throws LimitExceededError as soon as there are more than `maxChunks`.
 */
export async function chunkText(
  doc: ExtractedText,
  { chunkSize = 700, chunkOverlap = 80, maxChunks = Infinity }: {
    chunkSize?: number;
    chunkOverlap?: number;
    maxChunks?: number;
  } = {},
): Promise<Chunk[]> {
  const splitter = new RecursiveCharacterTextSplitter({
    chunkSize,
    chunkOverlap,
    separators: ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""],
  });
  const chunks: Chunk[] = [];
  for (const section of sections(doc.text)) {
    let cursor = 0;
    for (const piece of await splitter.splitText(section.body)) {
      const text = piece.trim();
      if (!/[\p{L}\p{N}]/u.test(text)) continue;
      let at = section.body.indexOf(text, cursor);
      if (at < 0) at = section.body.indexOf(text);
      if (at < 0) at = cursor;
      cursor = at + 1;
      const start = section.start + at;
      if (chunks.length >= maxChunks) {
        throw new LimitExceededError(
          "maxChunks",
          `The document makes more than ${maxChunks.toLocaleString("en-US")} chunks`,
        );
      }
      chunks.push({
        ordinal: chunks.length,
        heading: section.heading,
        text,
        start,
        end: start + text.length,
        page: pageAt(doc.pageStarts, start),
      });
    }
  }
  return chunks;
}

function sections(text: string): Section[] {
  const out: Section[] = [];
  const path: string[] = [];
  let bodyStart = 0;
  let current = "";
  const push = (end: number) => {
    const body = text.slice(bodyStart, end);
    if (body.trim()) out.push({ heading: current, body, start: bodyStart });
  };
  // Markdown headings, or the title lines of a plain text or PDF (outline.ts).
  for (const h of headingLines(text)) {
    push(h.index);
    path.length = Math.min(path.length, h.level - 1);
    path[h.level - 1] = h.title;
    current = path.filter(Boolean).join(" > ");
    bodyStart = h.index + h.line.length;
  }
  push(text.length);
  return out;
}

function pageAt(pageStarts: number[] | undefined, offset: number): number | undefined {
  if (!pageStarts?.length) return undefined;
  let page = 1;
  for (let i = 0; i < pageStarts.length; i++) if (pageStarts[i]! <= offset) page = i + 1;
  return page;
}
