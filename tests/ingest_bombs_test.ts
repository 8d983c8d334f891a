/**
 * Decompression bombs uploaded over HTTP to a real node by an editor API key (anyone with the
 * editor role can do this): each document fails with a reason a creator can read, the node's
 * health endpoint answers throughout, and the node goes on ingesting.
 */
import assert from "node:assert/strict";
import { eventually } from "./harness.ts";
import { nodeEnv } from "./node_env.ts";
import { makeDocxBomb, makePdfBomb, makePdfPageTreeBomb } from "./fixtures/documents.ts";

const DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

interface Doc {
  id: string;
  status: string;
  reason: string | null;
  error: string | null;
  chunk_count: number;
}

/** A node with the knowledge features, a creator, a knowledge base and an editor API key. */
async function startCreatorNode(settings: Record<string, string> = {}) {
  const env = await nodeEnv(settings);
  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await env.call(method, `/v1${path}`, { token, body });
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${res.text}`);
    return res.json;
  };
  const { token: owner } = await env.signup();
  const kb = (await call("POST", "/knowledge-bases", owner, { name: "Sleep" })).id as string;
  const editor = (await call("POST", "/api-keys", owner, { name: "uploads", role: "editor" }))
    .key as string;
  const upload = async (name: string, type: string, bytes: Uint8Array): Promise<Doc> => {
    const form = new FormData();
    form.append("file", new File([new Uint8Array(bytes)], name, { type }));
    return await call("POST", `/knowledge-bases/${kb}/documents`, editor, form);
  };
  const get = (id: string): Promise<Doc> => call("GET", `/documents/${id}`, editor);
  return { origin: env.url, upload, get, [Symbol.asyncDispose]: () => env[Symbol.asyncDispose]() };
}

/**
 * Probes `GET /healthz` back to back (each with a Kubernetes-probe-like 5 s allowance) while
 * `until` is false, noting what the documents were doing at each probe.
 */
async function probeHealthWhile(
  origin: string,
  until: () => Promise<string[] | undefined>,
): Promise<{ answered: number; failed: string[]; duringProcessing: number }> {
  const out = { answered: 0, failed: [] as string[], duringProcessing: 0 };
  for (;;) {
    const statuses = await until();
    if (!statuses) return out;
    try {
      const res = await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(5000) });
      const body = await res.json();
      if (res.status === 200 && body.status === "ok") out.answered++;
      else out.failed.push(`${res.status} ${JSON.stringify(body)}`);
    } catch (err) {
      out.failed.push(String(err));
    }
    if (statuses.includes("processing")) out.duringProcessing++;
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("document bombs - a DOCX and PDFs that unpack to hundreds of MB fail with a reason; /healthz answers throughout", async () => {
  await using node = await startCreatorNode();
  const docxBomb = await makeDocxBomb(); // ~300 KB → 100 MB of XML, 3,000,000 paragraphs
  const pdfBomb = makePdfBomb(); // < 1 MB → 256 MB of content streams
  const pageBomb = makePdfPageTreeBomb(); // 1.3 KB → 1,000,000 pages
  const docs = [
    await node.upload("bomb.docx", DOCX, docxBomb),
    await node.upload("bomb.pdf", "application/pdf", pdfBomb),
    await node.upload("pages.pdf", "application/pdf", pageBomb),
  ];
  let final: Doc[] = [];
  const health = await probeHealthWhile(node.origin, async () => {
    final = await Promise.all(docs.map((d) => node.get(d.id)));
    const statuses = final.map((d) => d.status);
    return statuses.every((s) => s === "failed" || s === "ready") ? undefined : statuses;
  });
  assert.deepEqual(final.map((d) => [d.status, d.reason, d.chunk_count]), [
    ["failed", "The file unpacks to more than 50 MB", 0],
    ["failed", "The file unpacks to more than 50 MB", 0],
    ["failed", "The PDF has more than 2,000 pages (1,000,000)", 0],
  ]);
  assert.deepEqual(health.failed, []);
  assert.ok(health.answered >= 1, "probed while the bombs were queued or being read");

  // The node goes on ingesting what it can read.
  const guide = await node.upload(
    "guide.md",
    "text/markdown",
    new TextEncoder().encode("# Naps\nKeep naps to twenty minutes, before 3 pm."),
  );
  const ready = await eventually(async () => {
    const d = await node.get(guide.id);
    return d.status === "ready" || d.status === "failed" ? d : undefined;
  }, { timeoutMs: 30_000, what: "guide ingested" });
  assert.deepEqual([ready.status, ready.reason, ready.chunk_count], ["ready", null, 1]);
});

Deno.test("document bombs - past lifted limits, the extractor's memory ceiling fails the DOCX bomb; the node's memory and /healthz hold", async () => {
  await using node = await startCreatorNode({
    INGEST_MAX_UNPACKED_BYTES: String(1024 ** 4),
    INGEST_MAX_COMPRESSION_RATIO: "1000000",
    INGEST_MAX_PARAGRAPHS: "100000000",
    INGEST_MAX_TEXT_CHARS: "1000000000",
    INGEST_MAX_CHUNKS: "100000000",
    INGEST_EXTRACTOR_MEMORY_MB: "256",
  });
  const baseline = Deno.memoryUsage().rss;
  let peak = baseline;
  const sampling = setInterval(() => (peak = Math.max(peak, Deno.memoryUsage().rss)), 20);
  const doc = await node.upload("bomb.docx", DOCX, await makeDocxBomb());
  let final: Doc | undefined;
  const health = await probeHealthWhile(node.origin, async () => {
    final = await node.get(doc.id);
    return final.status === "failed" || final.status === "ready" ? undefined : [final.status];
  });
  clearInterval(sampling);
  assert.deepEqual([final?.status, final?.reason], [
    "failed",
    "Reading the document needs more than 256 MB of memory",
  ]);
  assert.deepEqual(health.failed, []);
  assert.ok(health.duringProcessing >= 1, "probed while the extractor was reading the bomb");
  // 100 MB of XML were inflated and parsed, and the node's own memory barely moved.
  const grewMb = (peak - baseline) / 2 ** 20;
  assert.ok(grewMb < 100, `the node's resident memory grew by ${grewMb.toFixed(0)} MB`);
});
