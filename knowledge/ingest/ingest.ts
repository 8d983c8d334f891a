/** Ingests one document: extract, chunk, embed, index in Chroma and Postgres, report status. */
import type pg from "pg";
import { withTenant } from "../../db/tenant.ts";
import type { Chunk } from "./chunk.ts";
import { chunkId, replaceChunks } from "../store/chunk_rows.ts";
import { ExtractionError, ExtractorCrashedError } from "./errors.ts";
import { type Extractor, inProcessExtractor } from "./extractor.ts";
import type { Embedder } from "../models/models.ts";
import type { VectorStore } from "../store/vector_store.ts";

export interface IngestDeps {
  pool: pg.Pool;
  embedder: Embedder;
  store: VectorStore;
  /**
   * Reads files into chunks. The ingestion worker always passes its ExtractorPool (a process with
   * its own memory and time ceiling); without one the file is read in this process, which only
   * files the operator trusts (seeds, evaluations) should be.
   */
  extractor?: Extractor;
}

export type IngestOutcome =
  | { status: "ready"; chunkCount: number; pages?: number }
  | { status: "failed"; error: string }
  | { status: "gone" };

/** Attempts whose process died before they ended, after which a document is failed. */
export const MAX_INTERRUPTED_ATTEMPTS = 2;

/** Text a chunk is embedded with: its heading path gives short passages their topic. */
export function embeddingText(c: Pick<Chunk, "heading" | "text">): string {
  return c.heading ? `${c.heading}\n${c.text}` : c.text;
}

interface Claimed {
  knowledge_base_id: string;
  mime_type: string;
  filename: string | null;
  content: Uint8Array;
  /** Attempts started before this one whose process died before they ended. */
  interrupted: number;
  /** What the last interrupted attempt recorded, if it lived long enough to. */
  last_error: string | null;
}

/**
 * Ingests a document end to end. A document whose file cannot be read ends `failed` with the
 * reason (returned, not thrown); infrastructure errors (Chroma or Postgres down) are thrown so
 * the queue retries them.
 *
 * The attempt is counted in the document's row, and committed, before the file is read. A file
 * that kills whatever reads it (the extractor process, or this node) is therefore seen at its
 * next delivery: after {@link MAX_INTERRUPTED_ATTEMPTS} such attempts the document is failed with
 * the reason instead of being read again.
 */
export async function ingestDocument(
  deps: IngestDeps,
  creatorId: string,
  documentId: string,
): Promise<IngestOutcome> {
  const doc = await withTenant(deps.pool, creatorId, async (c) => {
    const { rows: [row] } = await c.query<Claimed>(
      `with before as (select id, error from documents where id = $1 for update)
       update documents d set status = 'processing', progress = 0, error = null,
              ingest_attempts = d.ingest_attempts + 1, updated_at = now()
       from before where d.id = before.id
       returning d.knowledge_base_id, d.mime_type, d.filename, d.content,
                 d.ingest_attempts - 1 - d.ingest_attempts_ended as interrupted,
                 before.error as last_error`,
      [documentId],
    );
    return row;
  });
  if (!doc) return { status: "gone" };
  const fail = async (reason: string) => {
    await markFailed(deps.pool, creatorId, documentId, reason, { endsAttempt: true });
    await deps.store.deleteDocument("chunks", creatorId, documentId);
    return { status: "failed" as const, error: reason };
  };
  if (doc.interrupted >= MAX_INTERRUPTED_ATTEMPTS) {
    return await fail(
      `Ingestion stopped ${doc.interrupted} times before it finished (${
        doc.last_error ?? "the process reading the file stopped"
      }); it is not retried on its own: reingest the document to try again`,
    );
  }
  let chunks: Chunk[];
  let pages: number | undefined;
  try {
    ({ chunks, pages } = await (deps.extractor ?? inProcessExtractor()).read(doc.content, {
      mimeType: doc.mime_type,
      filename: doc.filename,
    }));
  } catch (err) {
    if (err instanceof ExtractionError) return await fail(err.message);
    if (err instanceof ExtractorCrashedError) {
      const interrupted = doc.interrupted + 1;
      if (interrupted >= MAX_INTERRUPTED_ATTEMPTS) {
        return await fail(
          `Reading the file stopped ${interrupted} times before it finished (${err.message}); ` +
            "it is not retried on its own: reingest the document to try again",
        );
      }
      // Left un-ended on purpose: it counts as interrupted at the next delivery.
      await noteError(deps.pool, creatorId, documentId, err.message).catch(() => {});
      throw err;
    }
    await endAttempt(deps.pool, creatorId, documentId).catch(() => {});
    throw err;
  }
  try {
    const target = { creatorId, documentId, knowledgeBaseId: doc.knowledge_base_id };
    const chunkCount = await index(deps, target, chunks);
    return chunkCount === undefined ? { status: "gone" } : { status: "ready", chunkCount, pages };
  } catch (err) {
    // Postgres or Chroma failed: an attempt that ended, to be retried by the queue.
    await endAttempt(deps.pool, creatorId, documentId).catch(() => {});
    throw err;
  }
}

/**
 * Embeds the chunks and writes them to Chroma and Postgres, marking the document ready.
 * @returns the chunk count, or undefined when the document was deleted meanwhile
 */
async function index(
  deps: IngestDeps,
  { creatorId, documentId, knowledgeBaseId }: {
    creatorId: string;
    documentId: string;
    knowledgeBaseId: string;
  },
  chunks: Chunk[],
): Promise<number | undefined> {
  const progress = (p: number) =>
    withTenant(deps.pool, creatorId, (c) =>
      c.query(
        "update documents set progress = $2, updated_at = now() where id = $1 and status = 'processing'",
        [documentId, Math.min(1, Math.max(0, p))],
      ));
  await progress(0.1);
  const embeddings: number[][] = [];
  const batch = 64;
  for (let i = 0; i < chunks.length; i += batch) {
    const part = chunks.slice(i, i + batch);
    embeddings.push(...await deps.embedder.embed(part.map(embeddingText)));
    if (chunks.length > batch) await progress(0.1 + 0.7 * ((i + part.length) / chunks.length));
  }
  // Replace in Chroma first: if Postgres then fails the retry rewrites both.
  await deps.store.deleteDocument("chunks", creatorId, documentId);
  await deps.store.upsert(
    "chunks",
    chunks.map((c, i) => ({
      id: chunkId(documentId, c.ordinal),
      embedding: embeddings[i]!,
      text: c.text,
      meta: {
        creator_id: creatorId,
        knowledge_base_id: knowledgeBaseId,
        document_id: documentId,
        ordinal: c.ordinal,
        heading: c.heading,
        ...(c.page ? { page: c.page } : {}),
      },
    })),
  );
  await progress(0.9);
  const stillThere = await withTenant(deps.pool, creatorId, async (client) => {
    const { rowCount } = await client.query(
      `update documents set status = 'ready', progress = 1, chunk_count = $2, error = null,
              ingest_attempts_ended = ingest_attempts_ended + 1, updated_at = now()
       where id = $1`,
      [documentId, chunks.length],
    );
    if (!rowCount) return false;
    await replaceChunks(client, {
      creatorId,
      knowledgeBaseId,
      documentId,
      chunks,
    });
    return true;
  });
  if (!stillThere) {
    await deps.store.deleteDocument("chunks", creatorId, documentId);
    return undefined;
  }
  return chunks.length;
}

/** Fails a document with its reason; `endsAttempt` when an attempt in progress ends with it. */
export async function markFailed(
  pool: pg.Pool,
  creatorId: string,
  documentId: string,
  reason: string,
  { endsAttempt = false } = {},
): Promise<void> {
  await withTenant(pool, creatorId, async (c) => {
    await c.query(
      `update documents set status = 'failed', error = $2, chunk_count = 0, updated_at = now(),
              ingest_attempts_ended = ingest_attempts_ended + $3
       where id = $1`,
      [documentId, reason, endsAttempt ? 1 : 0],
    );
    await c.query("delete from knowledge_chunks where document_id = $1", [documentId]);
  });
}

/** Records that the attempt in progress ended (with an error the queue will retry). */
async function endAttempt(pool: pg.Pool, creatorId: string, documentId: string): Promise<void> {
  await withTenant(pool, creatorId, (c) =>
    c.query(
      "update documents set ingest_attempts_ended = ingest_attempts_ended + 1 where id = $1",
      [documentId],
    ));
}

/** Keeps why an attempt stopped, for the reason given if the document is failed for it later. */
async function noteError(
  pool: pg.Pool,
  creatorId: string,
  documentId: string,
  error: string,
): Promise<void> {
  await withTenant(
    pool,
    creatorId,
    (c) => c.query("update documents set error = $2 where id = $1", [documentId, error]),
  );
}

/** Removes a document's chunks everywhere (Chroma and Postgres). */
export async function removeDocument(
  deps: Pick<IngestDeps, "pool" | "store">,
  creatorId: string,
  documentId: string,
): Promise<void> {
  await deps.store.deleteDocument("chunks", creatorId, documentId);
  await withTenant(
    deps.pool,
    creatorId,
    (c) => c.query("delete from knowledge_chunks where document_id = $1", [documentId]),
  );
}
