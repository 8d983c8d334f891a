import assert from "node:assert/strict";
import { testNats } from "../../tests/harness.ts";
import { eventually } from "../../tests/harness.ts";
import { testKnowledge } from "../../tests/knowledge_env.ts";
import { jsonLogger } from "../../runtime/mod.ts";
import { withTenant } from "../../db/tenant.ts";
import { seedCreator, seedDocument, seedKnowledgeBase } from "../../tests/knowledge_seed.ts";
import { createIngestionQueue, startIngestionWorker, workNames } from "./ingest_queue.ts";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { HTML_PAGE, makeDocx, makePdf } from "../../tests/fixtures/documents.ts";
import type { Knowledge } from "../services.ts";

const log = jsonLogger("error");

interface DocRow {
  status: string;
  progress: number;
  chunk_count: number;
  error: string | null;
}

async function docRow(k: Knowledge, creatorId: string, id: string): Promise<DocRow | undefined> {
  return await withTenant(k.pool, creatorId, async (c) =>
    (await c.query<DocRow>(
      "select status, progress, chunk_count, error from documents where id = $1",
      [id],
    )).rows[0]);
}

async function pgChunks(k: Knowledge, creatorId: string, id: string): Promise<string[]> {
  return await withTenant(k.pool, creatorId, async (c) =>
    (await c.query<{ text: string }>(
      "select text from knowledge_chunks where document_id = $1 order by ordinal",
      [id],
    )).rows.map((r) => r.text));
}

const DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

Deno.test("ingestion queue - every format becomes ready; a corrupt or empty file fails alone", async () => {
  await using env = await testKnowledge();
  await using nats = await testNats();
  const k = env.knowledge;
  const creatorId = await seedCreator(k.pool);
  const kb = await seedKnowledgeBase(k.pool, creatorId);
  const files: [string, string, Uint8Array | string, string][] = [
    ["notes", "text/plain", "Walk ten minutes after lunch to steady blood sugar.", "ten minutes"],
    ["guide", "text/markdown", "# Guide\n## Rest\nTake one full rest day a week.", "rest day"],
    ["page", "text/html", HTML_PAGE, "glass of water"],
    [
      "plan",
      "application/pdf",
      await makePdf([["Week one", "Jog 60 seconds, walk 90."]]),
      "Jog 60",
    ],
    ["habits", DOCX, await makeDocx(["# Habits", "Never miss twice in a row."]), "miss twice"],
    ["broken", "application/pdf", "%PDF-1.4 truncated garbage", ""],
    ["empty", "text/plain", "", ""],
  ];
  const ids: Record<string, string> = {};
  const queue = createIngestionQueue({
    nc: nats.nc,
    prefix: nats.prefix,
    pool: k.pool,
    store: k.store,
  });
  await using worker = await startIngestionWorker({ ...k, nc: nats.nc, prefix: nats.prefix, log });
  for (const [title, mimeType, content] of files) {
    ids[title] = await seedDocument(k.pool, {
      creatorId,
      knowledgeBaseId: kb,
      title,
      mimeType,
      content,
    });
    await queue.enqueue(creatorId, ids[title]!);
  }
  await eventually(() => worker.processed >= files.length, {
    timeoutMs: 30_000,
    what: "all ingested",
  });
  for (const [title, , , phrase] of files) {
    const row = (await docRow(k, creatorId, ids[title]!))!;
    if (title === "broken") {
      assert.equal(row.status, "failed");
      assert.match(row.error ?? "", /^The PDF cannot be read/);
      continue;
    }
    if (title === "empty") {
      assert.deepEqual([row.status, row.error], ["failed", "The file is empty"]);
      continue;
    }
    assert.equal(row.status, "ready", `${title}: ${row.error}`);
    assert.equal(row.progress, 1);
    assert.ok(row.chunk_count >= 1);
    const texts = await pgChunks(k, creatorId, ids[title]!);
    assert.equal(texts.length, row.chunk_count);
    assert.ok(texts.join(" ").includes(phrase), `${title} chunks should contain "${phrase}"`);
    assert.equal(await k.store.count("chunks", creatorId, ids[title]!), row.chunk_count);
  }
});

Deno.test("ingestion queue - re-ingestion replaces a document's chunks; deletion removes them everywhere", async () => {
  await using env = await testKnowledge();
  await using nats = await testNats();
  const k = env.knowledge;
  const creatorId = await seedCreator(k.pool);
  const kb = await seedKnowledgeBase(k.pool, creatorId);
  const queue = createIngestionQueue({
    nc: nats.nc,
    prefix: nats.prefix,
    pool: k.pool,
    store: k.store,
  });
  await using worker = await startIngestionWorker({ ...k, nc: nats.nc, prefix: nats.prefix, log });
  const long = Array.from({ length: 8 }, (_, i) => `## Part ${i}\nOld advice number ${i}.`).join(
    "\n\n",
  );
  const id = await seedDocument(k.pool, {
    creatorId,
    knowledgeBaseId: kb,
    title: "v1",
    mimeType: "text/markdown",
    content: long,
  });
  await queue.enqueue(creatorId, id);
  await eventually(() => worker.processed >= 1, { what: "v1 ingested" });
  assert.equal((await docRow(k, creatorId, id))?.chunk_count, 8);

  await seedDocument(k.pool, {
    creatorId,
    knowledgeBaseId: kb,
    title: "v2",
    mimeType: "text/markdown",
    content: "# New\nFresh advice only.",
    documentId: id,
  });
  await queue.enqueue(creatorId, id);
  await eventually(() => worker.processed >= 2, { what: "v2 ingested" });
  assert.deepEqual(await pgChunks(k, creatorId, id), ["Fresh advice only."]);
  assert.equal(await k.store.count("chunks", creatorId, id), 1);
  assert.equal((await docRow(k, creatorId, id))?.chunk_count, 1);

  await queue.onDocumentDeleted(creatorId, id);
  await withTenant(k.pool, creatorId, (c) => c.query("delete from documents where id = $1", [id]));
  assert.deepEqual(await pgChunks(k, creatorId, id), []);
  assert.equal(await k.store.count("chunks", creatorId, id), 0);
});

Deno.test("ingestion queue - a job enqueued while no worker runs is done once one starts", async () => {
  await using env = await testKnowledge();
  await using nats = await testNats();
  const k = env.knowledge;
  const creatorId = await seedCreator(k.pool);
  const kb = await seedKnowledgeBase(k.pool, creatorId);
  const queue = createIngestionQueue({
    nc: nats.nc,
    prefix: nats.prefix,
    pool: k.pool,
    store: k.store,
  });
  // Enqueued while no worker runs (as during a restart): the job waits in the stream.
  const id = await seedDocument(k.pool, {
    creatorId,
    knowledgeBaseId: kb,
    title: "t",
    mimeType: "text/plain",
    content: "Sleep eight hours.",
  });
  await queue.enqueue(creatorId, id);
  assert.equal((await docRow(k, creatorId, id))?.status, "queued");
  await using worker = await startIngestionWorker({ ...k, nc: nats.nc, prefix: nats.prefix, log });
  await eventually(() => worker.processed >= 1, { what: "ingested after start" });
  assert.equal((await docRow(k, creatorId, id))?.status, "ready");
});

Deno.test("ingestion queue - a job taken by a worker that died unacked is redone by the next worker", async () => {
  await using env = await testKnowledge();
  await using nats = await testNats();
  const k = env.knowledge;
  const creatorId = await seedCreator(k.pool);
  const kb = await seedKnowledgeBase(k.pool, creatorId);
  const queue = createIngestionQueue({
    nc: nats.nc,
    prefix: nats.prefix,
    pool: k.pool,
    store: k.store,
  });
  const id = await seedDocument(k.pool, {
    creatorId,
    knowledgeBaseId: kb,
    title: "t",
    mimeType: "text/plain",
    content: "Walk after dinner.",
  });
  // First worker: takes the job, then its process dies before acking.
  const first = await startIngestionWorker(
    { ...k, nc: nats.nc, prefix: nats.prefix, log },
    { ackWaitMs: 1000 },
  );
  await first.stop();
  await queue.enqueue(creatorId, id);
  const names = workNames(nats.prefix);
  const consumer = await jetstream(nats.nc).consumers.get(names.stream, names.durable);
  const taken = await consumer.next({ expires: 5000 });
  assert.ok(taken, "the dead worker took the job");
  assert.equal((await docRow(k, creatorId, id))?.status, "queued");
  // Second worker: gets the job again once the ack wait runs out.
  await using second = await startIngestionWorker(
    { ...k, nc: nats.nc, prefix: nats.prefix, log },
    { ackWaitMs: 1000 },
  );
  await eventually(() => second.processed >= 1, {
    timeoutMs: 15_000,
    what: "redelivered job done",
  });
  assert.equal((await docRow(k, creatorId, id))?.status, "ready");
  const info = await (await jetstreamManager(nats.nc)).consumers.info(names.stream, names.durable);
  assert.equal(info.num_pending + info.num_ack_pending, 0);
});
