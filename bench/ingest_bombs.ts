// deno-lint-ignore-file no-console -- entry point: prints the benchmark report
/**
 * `deno task bench:bombs`: what decompression bombs cost a node. Each bomb (made here, as the
 * tests make them) is ingested through the real pipeline with the extractor pool, as the
 * ingestion worker does, while this process serves `/healthz` and probes it every 50 ms. Prints,
 * per bomb: the reason it failed, seconds to fail, the node's peak resident memory above its
 * baseline, the extractor's peak, and the probes' count and slowest answer. `--json` prints one
 * JSON line at the end.
 */
import { openScratch } from "./knowledge_env.ts";
import { seedCreator, seedDocument, seedKnowledgeBase } from "../tests/knowledge_seed.ts";
import { makeDocxBomb, makePdfBomb, makePdfPageTreeBomb } from "../tests/fixtures/documents.ts";
import { ingestDocument } from "../knowledge/ingest/ingest.ts";
import { ExtractorPool } from "../knowledge/ingest/extractor_pool.ts";
import { DEFAULT_LIMITS, type ExtractionLimits } from "../knowledge/ingest/limits.ts";

const DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const LIFTED: ExtractionLimits = {
  ...DEFAULT_LIMITS,
  maxUnpackedBytes: 1024 ** 4,
  maxCompressionRatio: 1e6,
  maxParagraphs: 1e8,
  maxTextChars: 1e9,
  maxChunks: 1e8,
  maxPages: 1e8,
};

const rss = () => Deno.memoryUsage().rss;
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
function residentOf(pid: number): number {
  try {
    return Number(Deno.readTextFileSync(`/proc/${pid}/statm`).split(" ")[1]) * 4096;
  } catch {
    return 0;
  }
}

await using scratch = await openScratch();
const { pool, knowledge } = scratch;
const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  () => Response.json({ status: "ok" }),
);
const health = `http://127.0.0.1:${server.addr.port}/healthz`;
const creatorId = await seedCreator(pool, "Bombs");
const kb = await seedKnowledgeBase(pool, creatorId);

const cases: { name: string; bytes: Uint8Array; mimeType: string; limits: ExtractionLimits }[] = [
  {
    name: "DOCX, 100 MB of XML",
    bytes: await makeDocxBomb(),
    mimeType: DOCX,
    limits: DEFAULT_LIMITS,
  },
  {
    name: "PDF, 256 MB of streams",
    bytes: makePdfBomb(),
    mimeType: "application/pdf",
    limits: DEFAULT_LIMITS,
  },
  {
    name: "PDF, 1,000,000 pages",
    bytes: makePdfPageTreeBomb(),
    mimeType: "application/pdf",
    limits: DEFAULT_LIMITS,
  },
  { name: "DOCX, limits lifted", bytes: await makeDocxBomb(), mimeType: DOCX, limits: LIFTED },
  {
    name: "PDF streams, limits lifted",
    bytes: makePdfBomb(),
    mimeType: "application/pdf",
    limits: LIFTED,
  },
];
const rows: Record<string, unknown>[] = [];
for (const c of cases) {
  await using extractor = ExtractorPool.start({ limits: c.limits });
  await extractor.read(new TextEncoder().encode("warm up"), { mimeType: "text/plain" });
  const id = await seedDocument(pool, {
    creatorId,
    knowledgeBaseId: kb,
    title: c.name,
    mimeType: c.mimeType,
    content: c.bytes,
  });
  const baseline = rss();
  let nodePeak = baseline;
  let extractorPeak = 0;
  const sampling = setInterval(() => {
    nodePeak = Math.max(nodePeak, rss());
    for (const pid of extractor.busyPids) extractorPeak = Math.max(extractorPeak, residentOf(pid));
  }, 20);
  let done = false;
  const probes: number[] = [];
  const probing = (async () => {
    while (!done) {
      const t = performance.now();
      await (await fetch(health, { signal: AbortSignal.timeout(30_000) })).body?.cancel();
      probes.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const t0 = performance.now();
  const outcome = await ingestDocument({ ...knowledge, extractor }, creatorId, id);
  const seconds = (performance.now() - t0) / 1000;
  done = true;
  await probing;
  clearInterval(sampling);
  const row = {
    bomb: c.name,
    fileKB: Math.round(c.bytes.length / 1024),
    outcome: outcome.status === "failed" ? outcome.error : outcome.status,
    seconds: Number(seconds.toFixed(2)),
    nodePeakRssMB: Number(mb(nodePeak)),
    nodeRssGrowthMB: Number(mb(nodePeak - baseline)),
    extractorPeakRssMB: Number(mb(extractorPeak)),
    probes: probes.length,
    slowestProbeMs: Number(Math.max(...probes).toFixed(1)),
  };
  rows.push(row);
  console.log(
    `${row.bomb} (${row.fileKB} KB): ${row.outcome} in ${row.seconds} s; node RSS peak ` +
      `${row.nodePeakRssMB} MB (+${row.nodeRssGrowthMB}), extractor peak ${row.extractorPeakRssMB} ` +
      `MB; /healthz ${row.probes} probes, slowest ${row.slowestProbeMs} ms`,
  );
}
await server.shutdown();
if (Deno.args.includes("--json")) console.log(JSON.stringify(rows));
