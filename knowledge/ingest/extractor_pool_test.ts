import assert from "node:assert/strict";
import { ExtractorPool } from "./extractor_pool.ts";
import { readDocument } from "./extractor.ts";
import { ExtractionError, ExtractorCrashedError } from "./errors.ts";
import { DEFAULT_LIMITS, type ExtractionLimits, LimitExceededError } from "./limits.ts";
import {
  makeDocx,
  makeDocxBomb,
  makePdf,
  makePdfBomb,
  makePdfPageTreeBomb,
} from "../../tests/fixtures/documents.ts";
import { eventually } from "../../tests/harness.ts";

const DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const PDF = "application/pdf";
/** No unpacking limits: what a process ceiling alone has to stop. */
const UNLIMITED: ExtractionLimits = {
  maxUnpackedBytes: Number.MAX_SAFE_INTEGER,
  maxCompressionRatio: Number.MAX_SAFE_INTEGER,
  maxZipEntries: Number.MAX_SAFE_INTEGER,
  maxPages: Number.MAX_SAFE_INTEGER,
  maxParagraphs: Number.MAX_SAFE_INTEGER,
  maxTextChars: Number.MAX_SAFE_INTEGER,
  maxChunks: Number.MAX_SAFE_INTEGER,
};
const small = () => makePdf([["Sleep basics", "Keep naps short."]]);

Deno.test("ExtractorPool.read() reads in a child process what readDocument() reads here", async () => {
  await using pool = ExtractorPool.start({ size: 1 });
  const files: [Uint8Array, string][] = [
    [await makePdf([["Sleep basics", "Keep naps short."], ["Caffeine", "Stop by 2 pm."]]), PDF],
    [await makeDocx(["# Habits", "Start tiny.", "## Stacking", "After coffee, plan."]), DOCX],
    [new TextEncoder().encode("# Rest\nTake one full rest day a week."), "text/markdown"],
  ];
  for (const [bytes, mimeType] of files) {
    const pids: number[] = [];
    const watching = setInterval(() => pids.push(...pool.busyPids), 1);
    const there = await pool.read(bytes, { mimeType });
    clearInterval(watching);
    // Over the pipe as JSON: the same chunks, without the keys that are undefined here.
    const here = await readDocument(bytes, { mimeType });
    assert.deepEqual(JSON.parse(JSON.stringify(there)), JSON.parse(JSON.stringify(here)));
    assert.ok(pids.every((pid) => pid !== Deno.pid));
  }
  assert.deepEqual(pool.busyPids, []);
});

Deno.test("ExtractorPool.read() passes a limit's refusal on as LimitExceededError", async () => {
  await using pool = ExtractorPool.start({ size: 1 });
  await assert.rejects(pool.read(makePdfPageTreeBomb(), { mimeType: PDF }), (err: unknown) => {
    assert.ok(err instanceof LimitExceededError);
    assert.equal(err.limit, "maxPages");
    assert.equal(err.message, "The PDF has more than 2,000 pages (1,000,000)");
    return true;
  });
  await assert.rejects(
    pool.read(new TextEncoder().encode("%PDF-1.7 not really"), { mimeType: PDF }),
    (err: unknown) => err instanceof ExtractionError && /^The PDF cannot be read/.test(err.message),
  );
  assert.equal((await pool.read(await small(), { mimeType: PDF })).chunks.length, 1);
});

Deno.test("ExtractorPool.read() fails a document past the memory ceiling; the next one is read", async () => {
  await using pool = ExtractorPool.start({ size: 1, memoryMb: 256, limits: UNLIMITED });
  const before = Deno.memoryUsage().rss;
  await assert.rejects(pool.read(await makeDocxBomb(), { mimeType: DOCX }), (err: unknown) => {
    assert.ok(err instanceof ExtractionError && !(err instanceof LimitExceededError), `${err}`);
    assert.equal(err.message, "Reading the document needs more than 256 MB of memory");
    return true;
  });
  // The 100 MB of XML were inflated and parsed over there, not here.
  assert.ok(Deno.memoryUsage().rss - before < 100 * 1024 * 1024);
  assert.equal((await pool.read(await small(), { mimeType: PDF })).chunks.length, 1);
});

Deno.test("ExtractorPool.read() fails a document past its deadline", async () => {
  await using pool = ExtractorPool.start({ size: 1, timeoutMs: 1000, limits: UNLIMITED });
  await assert.rejects(
    pool.read(makePdfBomb(), { mimeType: PDF }),
    (err: unknown) =>
      err instanceof ExtractionError && err.message === "Reading the document took longer than 1 s",
  );
  assert.equal((await pool.read(await small(), { mimeType: PDF })).chunks.length, 1);
});

Deno.test("ExtractorPool.read() reports an extractor killed from outside as ExtractorCrashedError and replaces it", async () => {
  await using pool = ExtractorPool.start({ size: 1, limits: UNLIMITED });
  // A million pages take minutes to read: the process is killed while it reads them.
  const reading = pool.read(makePdfPageTreeBomb(), { mimeType: PDF });
  const [pid] = await eventually(() => pool.busyPids.length ? pool.busyPids : undefined, {
    what: "busy",
  });
  Deno.kill(pid!, "SIGKILL");
  await assert.rejects(reading, (err: unknown) => {
    assert.ok(err instanceof ExtractorCrashedError, `${err}`);
    assert.equal(err.message, "The document reader was killed (SIGKILL) before it finished");
    assert.equal(err.exit.signal, "SIGKILL");
    return true;
  });
  const again = pool.read(await small(), { mimeType: PDF });
  const [next] = await eventually(() => pool.busyPids.length ? pool.busyPids : undefined, {
    what: "busy",
  });
  assert.notEqual(next, pid);
  assert.equal((await again).chunks.length, 1);
});

Deno.test("ExtractorPool queues reads beyond its size and recycles a process after recycleAfter reads", async () => {
  await using pool = ExtractorPool.start({ size: 2, recycleAfter: 2, limits: DEFAULT_LIMITS });
  const pdf = await small();
  const seen = new Set<number>();
  const watching = setInterval(() => pool.busyPids.forEach((p) => seen.add(p)), 1);
  const reads = await Promise.all(
    Array.from({ length: 6 }, () => pool.read(pdf, { mimeType: PDF })),
  );
  clearInterval(watching);
  assert.equal(reads.length, 6);
  assert.ok(reads.every((r) => r.chunks.length === 1));
  // Six reads, two at a time, two per process: at least three processes served them.
  assert.ok(seen.size >= 3, `processes seen: ${seen.size}`);
  assert.ok(pool.busyPids.length === 0);
});
