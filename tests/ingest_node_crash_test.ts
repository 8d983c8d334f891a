/**
 * The incident this guards against: a file that killed the node reading it was delivered again
 * after each restart and killed the next node, until JetStream gave up and the document stayed
 * "processing" for ever. Here the worker's process is SIGKILLed while it reads a file, twice;
 * the third worker fails the document with the reason, without reading it again.
 */
import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import {
  CHROMA_URL,
  eventually,
  NATS_URL,
  testChroma,
  testDb,
  testNats,
  VECTOR_CACHE_DIR,
} from "./harness.ts";
import { seedCreator, seedDocument, seedKnowledgeBase } from "./knowledge_seed.ts";
import { makePdfPageTreeBomb } from "./fixtures/documents.ts";
import { withTenant } from "../db/tenant.ts";
import { createIngestionQueue, VectorStore, workNames } from "../knowledge/mod.ts";

interface Worker {
  process: Deno.ChildProcess;
  /** Extractor processes the worker reported reading. */
  extractors: number[];
}

function startWorker(env: Record<string, string>): Promise<Worker> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./fixtures/ingest_worker.ts", import.meta.url).pathname],
    env,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const worker: Worker = { process, extractors: [] };
  const ready = Promise.withResolvers<Worker>();
  (async () => {
    let buffered = "";
    for await (const chunk of process.stdout.pipeThrough(new TextDecoderStream())) {
      buffered += chunk;
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line === "ready") ready.resolve(worker);
        const pid = line.match(/^extractor (\d+)$/)?.[1];
        if (pid) worker.extractors.push(Number(pid));
      }
    }
    ready.reject(new Error("the worker exited before it was ready"));
  })();
  return ready.promise;
}

const alive = (pid: number) => {
  try {
    return !/^\S+ \S+ Z/.test(Deno.readTextFileSync(`/proc/${pid}/stat`).replace(/\(.*\)/, "x"));
  } catch {
    return false;
  }
};

Deno.test("ingestion - a file whose reading node is killed twice is failed with a reason, not redelivered for ever", async () => {
  await using db = await testDb();
  await using nats = await testNats();
  await using chroma = testChroma(nats.prefix);
  const env = {
    DATABASE_URL: db.url,
    NATS_URL,
    PREFIX: nats.prefix,
    CHROMA_URL,
    VECTOR_CACHE_DIR,
    ACK_WAIT_MS: "2000",
    MAX_PAGES: "10000000",
  };
  const creatorId = await seedCreator(db.pool);
  const kb = await seedKnowledgeBase(db.pool, creatorId);
  const id = await seedDocument(db.pool, {
    creatorId,
    knowledgeBaseId: kb,
    title: "a million pages",
    mimeType: "application/pdf",
    content: makePdfPageTreeBomb(),
  });
  const store = new VectorStore(chroma.client, {
    prefix: nats.prefix,
    embedder: { id: "unused", dimensions: 1, embed: () => Promise.reject(new Error("unused")) },
  });
  await createIngestionQueue({ nc: nats.nc, prefix: nats.prefix, pool: db.pool, store })
    .enqueue(creatorId, id);
  const row = () =>
    withTenant(
      db.pool,
      creatorId,
      async (c) =>
        (await c.query<{ status: string; error: string | null; attempts: number; ended: number }>(
          `select status, error, ingest_attempts as attempts, ingest_attempts_ended as ended
         from documents where id = $1`,
          [id],
        )).rows[0]!,
    );

  for (let attempt = 1; attempt <= 2; attempt++) {
    const worker = await startWorker(env);
    await eventually(() => worker.extractors.length > 0, {
      timeoutMs: 20_000,
      what: `attempt ${attempt} reading the file`,
    });
    assert.deepEqual(await row(), {
      status: "processing",
      error: null,
      attempts: attempt,
      ended: 0,
    });
    worker.process.kill("SIGKILL");
    await worker.process.status;
    // Its extractor sees its stdin close and exits: a dead node leaves no reader behind.
    await eventually(() => !alive(worker.extractors[0]!), { what: "orphaned extractor gone" });
  }
  const third = await startWorker(env);
  try {
    await eventually(async () => (await row()).status === "failed", {
      timeoutMs: 20_000,
      what: "document failed",
    });
    const failed = await row();
    assert.equal(
      failed.error,
      "Ingestion stopped 2 times before it finished (the process reading the file stopped); " +
        "it is not retried on its own: reingest the document to try again",
    );
    // The third delivery counted itself and gave up without handing the file to an extractor.
    assert.deepEqual([failed.attempts, failed.ended], [3, 1]);
    assert.deepEqual(third.extractors, []);
    const names = workNames(nats.prefix);
    const jsm = await jetstreamManager(nats.nc);
    await eventually(async () => {
      const info = await jsm.consumers.info(names.stream, names.durable);
      return info.num_pending + info.num_ack_pending === 0;
    }, { what: "the job acknowledged" });
  } finally {
    third.process.kill("SIGTERM");
    await third.process.status;
  }
});
