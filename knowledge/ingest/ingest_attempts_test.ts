import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { eventually, sleep, testNats } from "../../tests/harness.ts";
import { testKnowledge } from "../../tests/knowledge_env.ts";
import { seedCreator, seedDocument, seedKnowledgeBase } from "../../tests/knowledge_seed.ts";
import { makePdfPageTreeBomb } from "../../tests/fixtures/documents.ts";
import { jsonLogger } from "../../runtime/mod.ts";
import { withTenant } from "../../db/tenant.ts";
import { createIngestionQueue, startIngestionWorker, workNames } from "./ingest_queue.ts";
import { ExtractorPool } from "./extractor_pool.ts";
import { DEFAULT_LIMITS } from "./limits.ts";

const log = jsonLogger("error");

Deno.test("ingestion queue - a job whose extractor is killed is failed after two attempts, with the reason", async () => {
  await using env = await testKnowledge();
  await using nats = await testNats();
  const k = env.knowledge;
  const creatorId = await seedCreator(k.pool);
  const kb = await seedKnowledgeBase(k.pool, creatorId);
  // A million pages allowed: reading them would take minutes, so the reader is there to kill.
  await using extractor = ExtractorPool.start({
    limits: { ...DEFAULT_LIMITS, maxPages: 10_000_000 },
  });
  const queue = createIngestionQueue({ ...k, nc: nats.nc, prefix: nats.prefix });
  await using worker = await startIngestionWorker(
    { ...k, extractor, nc: nats.nc, prefix: nats.prefix, log },
    { retryDelayMs: 100 },
  );
  const id = await seedDocument(k.pool, {
    creatorId,
    knowledgeBaseId: kb,
    title: "pages",
    mimeType: "application/pdf",
    content: makePdfPageTreeBomb(),
  });
  await queue.enqueue(creatorId, id);
  const row = () =>
    withTenant(k.pool, creatorId, async (c) =>
      (await c.query<
        { status: string; error: string | null; ingest_attempts: number; ended: number }
      >(
        `select status, error, ingest_attempts, ingest_attempts_ended as ended
         from documents where id = $1`,
        [id],
      )).rows[0]!);
  const killed: number[] = [];
  for (let attempt = 1; attempt <= 2; attempt++) {
    const [pid] = await eventually(
      () => extractor.busyPids.find((p) => !killed.includes(p)) ? extractor.busyPids : undefined,
      { timeoutMs: 15_000, what: `attempt ${attempt} reading` },
    );
    // Counted in Postgres before the file reached the extractor.
    assert.deepEqual([(await row()).status, (await row()).ingest_attempts], [
      "processing",
      attempt,
    ]);
    Deno.kill(pid!, "SIGKILL");
    killed.push(pid!);
  }
  await eventually(() => worker.processed >= 1, { timeoutMs: 15_000, what: "document given up" });
  const failed = await row();
  assert.equal(failed.status, "failed");
  assert.equal(
    failed.error,
    "Reading the file stopped 2 times before it finished (The document reader was killed " +
      "(SIGKILL) before it finished); it is not retried on its own: reingest the document to " +
      "try again",
  );
  // Two attempts, the first interrupted; nothing left to deliver, and no third reading starts.
  assert.deepEqual([failed.ingest_attempts, failed.ended], [2, 1]);
  const names = workNames(nats.prefix);
  const info = await (await jetstreamManager(nats.nc)).consumers.info(names.stream, names.durable);
  assert.equal(info.num_pending + info.num_ack_pending, 0);
  await sleep(500);
  assert.deepEqual(extractor.busyPids, []);
  assert.equal((await row()).ingest_attempts, 2);
});
