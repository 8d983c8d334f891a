import assert from "node:assert/strict";
import { extractText } from "./extract.ts";
import { readDocument } from "./extractor.ts";
import { ExtractionError } from "./errors.ts";
import { DEFAULT_LIMITS, type ExtractionLimits, LimitExceededError, megabytes } from "./limits.ts";
import { checkPdfStreams } from "./pdf_streams.ts";
import {
  makeDocx,
  makeDocxBomb,
  makePdf,
  makePdfBomb,
  makePdfPageTreeBomb,
} from "../../tests/fixtures/documents.ts";

const DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const PDF = "application/pdf";

async function refused(
  read: Promise<unknown>,
  limit: keyof ExtractionLimits,
  message: RegExp,
): Promise<void> {
  await assert.rejects(read, (err: unknown) => {
    assert.ok(err instanceof LimitExceededError, `expected LimitExceededError, got ${err}`);
    assert.equal(err.limit, limit);
    assert.match(err.message, message);
    return true;
  });
}

Deno.test("extractText() refuses a DOCX bomb from its zip directory, before inflating it", async () => {
  const bomb = await makeDocxBomb(); // 3,000,000 paragraphs
  assert.ok(bomb.length < 400 * 1024, `the bomb is small on disk (${bomb.length} bytes)`);
  await refused(
    extractText(bomb, { mimeType: DOCX }),
    "maxUnpackedBytes",
    /^The file unpacks to more than 50 MB$/,
  );
});

Deno.test("extractText() stops a DOCX whose zip directory understates a size while inflating it", async () => {
  const bomb = await makeDocxBomb({ paragraphs: 200_000 });
  // The central directory now declares 1,000 bytes for word/document.xml (7 MB inflated).
  const view = new DataView(bomb.buffer, bomb.byteOffset, bomb.byteLength);
  const name = new TextEncoder().encode("word/document.xml");
  let patched = 0;
  for (let at = 0; at + 46 < bomb.length; at++) {
    if (view.getUint32(at, true) !== 0x02014b50) continue;
    const nameLength = view.getUint16(at + 28, true);
    const entry = bomb.subarray(at + 46, at + 46 + nameLength);
    if (entry.length === name.length && entry.every((b, i) => b === name[i])) {
      view.setUint32(at + 24, 1000, true);
      patched++;
    }
  }
  assert.equal(patched, 1);
  await assert.rejects(extractText(bomb, { mimeType: DOCX }), (err: unknown) => {
    assert.ok(err instanceof ExtractionError);
    assert.match(
      err.message,
      /^The DOCX cannot be read: too many bytes in the stream\. expected 1000/,
    );
    const got = Number(err.message.match(/got at least (\d+)/)?.[1]);
    assert.ok(got < 1024 * 1024, `stopped after ${got} bytes, not after the whole 7 MB`);
    return true;
  });
});

Deno.test("extractText() refuses DOCX files past the ratio, entry and paragraph limits", async () => {
  // 100,000 paragraphs: 3.4 MB of XML from a file of about 20 KB.
  await refused(
    extractText(await makeDocxBomb({ paragraphs: 100_000 }), { mimeType: DOCX }),
    "maxCompressionRatio",
    /^The file unpacks to more than 100 times its size \(\d+(\.\d)? KB unpacking to over/,
  );
  const docx = await makeDocx(Array.from({ length: 30 }, (_, i) => `Paragraph ${i}.`));
  await refused(
    extractText(docx, { mimeType: DOCX, limits: { ...DEFAULT_LIMITS, maxZipEntries: 3 } }),
    "maxZipEntries",
    /^The DOCX holds more than 3 files$/,
  );
  await refused(
    extractText(docx, { mimeType: DOCX, limits: { ...DEFAULT_LIMITS, maxParagraphs: 10 } }),
    "maxParagraphs",
    /^The DOCX has more than 10 paragraphs$/,
  );
  const ok = await extractText(docx, { mimeType: DOCX });
  assert.match(ok.text, /Paragraph 29\./);
});

Deno.test("checkPdfStreams() counts Flate streams, layered ones too, and skips images", () => {
  const bomb = makePdfBomb(); // 8 pages × 32 MB
  assert.ok(bomb.length < 1024 * 1024, `the bomb is small on disk (${bomb.length} bytes)`);
  assert.throws(() => checkPdfStreams(bomb, DEFAULT_LIMITS), /unpacks to more than 50 MB/);
  const layered = makePdfBomb({ pages: 1, inflatedBytesPerPage: 64 * 1024 * 1024, layers: 2 });
  assert.ok(layered.length < 8 * 1024, `two layers make it smaller (${layered.length} bytes)`);
  assert.throws(
    () => checkPdfStreams(layered, DEFAULT_LIMITS),
    /^LimitExceededError: The file unpacks to more than 100 times its size/,
  );
  assert.throws(
    () => checkPdfStreams(layered, { ...DEFAULT_LIMITS, maxCompressionRatio: 1e9 }),
    /^LimitExceededError: The file unpacks to more than 50 MB$/,
  );
  // Two streams damaged 15% in (about 19 MB of output each, under the 30 MB allowed here): zlib
  // refuses each, and what they inflate before the damage still adds up past the limit.
  const damaged = makePdfBomb({ pages: 2, inflatedBytesPerPage: 128 * 1024 * 1024 });
  const latin1 = new TextDecoder("latin1").decode(damaged);
  for (let at = latin1.indexOf("stream\n"); at >= 0; at = latin1.indexOf("stream\n", at + 1)) {
    if (latin1.slice(at - 3, at) === "end") continue;
    const start = at + 7;
    const length = latin1.indexOf("\nendstream", start) - start;
    damaged.fill(0xff, start + Math.floor(length * 0.15), start + Math.floor(length * 0.15) + 64);
  }
  const thirty = { ...DEFAULT_LIMITS, maxCompressionRatio: 1e9, maxUnpackedBytes: 30 * 2 ** 20 };
  assert.throws(
    () => checkPdfStreams(damaged, thirty),
    /^LimitExceededError: The file unpacks to more than 30 MB$/,
  );
  const small = makePdfBomb({ pages: 2, inflatedBytesPerPage: 100_000 });
  assert.equal(checkPdfStreams(small, DEFAULT_LIMITS), 200_000);
  const asImage = new TextDecoder("latin1").decode(bomb).replaceAll(
    "<< /Filter /FlateDecode",
    "<< /Subtype /Image /Filter /FlateDecode",
  );
  const imageBytes = Uint8Array.from(asImage, (c) => c.charCodeAt(0));
  assert.equal(checkPdfStreams(imageBytes, DEFAULT_LIMITS), 0);
});

Deno.test("extractText() refuses PDF bombs: inflated streams, a page tree of a million pages", async () => {
  await refused(
    extractText(makePdfBomb(), { mimeType: PDF }),
    "maxUnpackedBytes",
    /^The file unpacks to more than 50 MB$/,
  );
  const tree = makePdfPageTreeBomb();
  assert.ok(tree.length < 2048, `a million pages in ${tree.length} bytes`);
  await refused(
    extractText(tree, { mimeType: PDF }),
    "maxPages",
    /^The PDF has more than 2,000 pages \(1,000,000\)$/,
  );
  // Within the limits the same tree reads like any PDF.
  const few = await extractText(makePdfPageTreeBomb({ fanOut: 3, depth: 2 }), { mimeType: PDF });
  assert.equal(few.pageStarts?.length, 9);
  assert.equal(few.text.match(/Sleep well\./g)?.length, 9);
});

Deno.test("extractText() stops reading text past the character limit; readDocument() past the chunk limit", async () => {
  const limits = { ...DEFAULT_LIMITS, maxTextChars: 60 };
  const pdf = await makePdf([["Sleep basics: keep naps short."], ["Caffeine: stop by 2 pm."], [
    "Light: get morning sun.",
  ]]);
  await refused(
    extractText(pdf, { mimeType: PDF, limits }),
    "maxTextChars",
    /^The document has more than 60 characters of text$/,
  );
  await refused(
    extractText(new TextEncoder().encode("x".repeat(61)), { mimeType: "text/plain", limits }),
    "maxTextChars",
    /more than 60 characters/,
  );
  const long = Array.from({ length: 12 }, (_, i) => `## Part ${i}\nAdvice number ${i}.`).join("\n");
  await refused(
    readDocument(new TextEncoder().encode(long), {
      mimeType: "text/markdown",
      limits: { ...DEFAULT_LIMITS, maxChunks: 5 },
    }),
    "maxChunks",
    /^The document makes more than 5 chunks$/,
  );
  const read = await readDocument(new TextEncoder().encode(long), { mimeType: "text/markdown" });
  assert.equal(read.chunks.length, 12);
});

Deno.test("megabytes() writes sizes as a creator reads them", () => {
  assert.equal(megabytes(50 * 1024 * 1024), "50 MB");
  assert.equal(megabytes(1536), "1.5 KB");
  assert.equal(megabytes(900), "900 bytes");
});
