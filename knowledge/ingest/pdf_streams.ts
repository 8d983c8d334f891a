/**
 * Inflates a PDF's Flate streams against the byte budget before pdf.js reads the file, counting
 * and discarding what comes out, so a file whose streams inflate to hundreds of MB is refused
 * after at most the budget's worth of work and memory.
 *
 * A guard, not a parser: it finds `stream` keywords and reads the dictionary before each. Image
 * streams are skipped (text extraction never decodes them) and so are streams behind a filter
 * other than FlateDecode. A file built to slip past this scan still meets the extractor process's
 * memory and time ceilings and the page and text limits, which pdf.js is held to page by page.
 */
import { constants, inflateSync } from "node:zlib";
import { Unzlib } from "fflate";
import { type ExtractionLimits, LimitExceededError, UnpackBudget } from "./limits.ts";

/** Compressed bytes handed to the inflater at a time: bounds each step's output (~1000×). */
const SLICE = 16 * 1024;

/**
 * @returns the bytes the counted streams inflate to
 * @throws {LimitExceededError} as soon as they pass the size or ratio limit
 */
export function checkPdfStreams(bytes: Uint8Array, limits: ExtractionLimits): number {
  const budget = new UnpackBudget(bytes.length, limits);
  // latin1 keeps one character per byte, so string offsets are byte offsets.
  const text = new TextDecoder("latin1").decode(bytes);
  const keyword = /stream(\r\n|\n|\r)/g;
  for (let m = keyword.exec(text); m; m = keyword.exec(text)) {
    if (text.slice(Math.max(0, m.index - 3), m.index) === "end") continue;
    const dict = text.slice(Math.max(0, text.lastIndexOf("obj", m.index)), m.index);
    if (/\/Subtype\s*\/Image\b/.test(dict)) continue;
    const flates = leadingFlates(dict);
    if (flates === 0) continue;
    const start = m.index + m[0].length;
    const declared = dict.match(/\/Length\s+(\d+)(?!\s+\d+\s+R)/);
    let end = declared ? start + Number(declared[1]) : -1;
    if (end < start || end > bytes.length) end = text.indexOf("endstream", start);
    if (end < 0) end = bytes.length;
    let data = bytes.subarray(start, end);
    for (let layer = 0; layer < flates; layer++) {
      data = inflateCounted(data, budget, layer < flates - 1);
    }
    // Skip the stream's own bytes: they may contain anything, "stream" included.
    keyword.lastIndex = Math.max(keyword.lastIndex, end);
  }
  return budget.used;
}

/** How many FlateDecode filters the stream applies first (`/Filter [/FlateDecode /FlateDecode]`). */
function leadingFlates(dict: string): number {
  const filter = dict.match(/\/Filter\s*(\[[^\]]*\]|\/[A-Za-z0-9]+)/)?.[1];
  if (!filter) return 0;
  let n = 0;
  for (const name of filter.match(/\/[A-Za-z0-9]+/g) ?? []) {
    if (name !== "/FlateDecode" && name !== "/Fl") break;
    n++;
  }
  return n;
}

/**
 * Inflates with zlib, output capped at what the budget has left; a corrupt stream is inflated
 * again slice by slice to count what comes out before the damage (pdf.js keeps that much).
 */
function inflateCounted(data: Uint8Array, budget: UnpackBudget, keep: boolean): Uint8Array {
  const allowed = budget.left;
  let out: Uint8Array;
  try {
    out = inflateSync(data, {
      maxOutputLength: Math.max(1, allowed + 1),
      finishFlush: constants.Z_SYNC_FLUSH,
    });
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") budget.add(allowed + 1);
    return inflatePiecewise(data, budget, keep);
  }
  budget.add(out.length);
  return keep ? out : EMPTY;
}

const EMPTY = new Uint8Array();

/** Inflates slice by slice, counting each piece against the budget; keeps it only if asked. */
function inflatePiecewise(data: Uint8Array, budget: UnpackBudget, keep: boolean): Uint8Array {
  const kept: Uint8Array[] = [];
  const inflater = new Unzlib((chunk) => {
    budget.add(chunk.length);
    if (keep) kept.push(chunk);
  });
  try {
    for (let at = 0; at < data.length; at += SLICE) {
      inflater.push(data.subarray(at, at + SLICE), at + SLICE >= data.length);
    }
  } catch (err) {
    // A corrupt stream is pdf.js's to report; what it inflated so far was counted.
    if (err instanceof LimitExceededError) throw err;
  }
  if (!keep) return EMPTY;
  const out = new Uint8Array(kept.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of kept) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
