/** Ingests one document: extract, chunk, embed, index in Chroma and Postgres, report status. */
import type pg from "pg";
import { withTenant } from "../../db/tenant.ts";
import { type Chunk, chunkText } from "./chunk.ts";
import { chunkId, replaceChunks } from "../store/chunk_rows.ts";
import { ExtractionError, extractText } from "./extract.ts";
import type { Embedder } from "../models/models.ts";
import type { VectorStore } from "../store/vector_store.ts";

export interface IngestDeps {
  pool: pg.Pool;
  embedder: Embedder;
  store: VectorStore;
}

export type IngestOutcome =
  | { status: "ready"; chunkCount: number; pages?: number }
  | { status: "failed"; error: string }
  | { status: "gone" };

/** Text a chunk is embedded with: its heading path gives short passages their topic. */
export function embeddingText(c: Pick<Chunk, "heading" | "text">): string {
  return c.heading ? `${c.heading}\n${c.text}` : c.text;
}

/**
 * Ingests a document end to end. A document whose file cannot be read ends `failed` with the
 * reason (returned, not thrown); infrastructure errors (Chroma or Postgres down) are thrown so
 * the queue retries them.
 */
export async function ingestDocument(
  deps: IngestDeps,
  creatorId: string,
  documentId: string,
): Promise<IngestOutcome> {
  const doc = await withTenant(deps.pool, creatorId, async (c) => {
    const { rows: [row] } = await c.query<{
      knowledge_base_id: string;
      mime_type: string;
      filename: string | null;
      content: Uint8Array;
    }>(
      `update documents set status = 'processing', progress = 0, error = null, updated_at = now()
       where id = $1 returning knowledge_base_id, mime_type, filename, content`,
      [documentId],
    );
    return row;
  });
  if (!doc) return { status: "gone" };
  const progress = (p: number) =>
    withTenant(deps.pool, creatorId, (c) =>
      c.query(
        "update documents set progress = $2, updated_at = now() where id = $1 and status = 'processing'",
        [documentId, Math.min(1, Math.max(0, p))],
      ));
  let chunks: Chunk[];
  let pages: number | undefined;
  try {
    const extracted = await extractText(doc.content, {
      mimeType: doc.mime_type,
      filename: doc.filename,
    });
    pages = extracted.pageStarts?.length;
    chunks = await chunkText(extracted);
    if (!chunks.length) throw new ExtractionError("The document has no text to index");
  } catch (err) {
    if (!(err instanceof ExtractionError)) throw err;
    await markFailed(deps.pool, creatorId, documentId, err.message);
    await deps.store.deleteDocument("chunks", creatorId, documentId);
    return { status: "failed", error: err.message };
  }
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
        knowledge_base_id: doc.knowledge_base_id,
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
              updated_at = now() where id = $1`,
      [documentId, chunks.length],
    );
    if (!rowCount) return false;
    await replaceChunks(client, {
      creatorId,
      knowledgeBaseId: doc.knowledge_base_id,
      documentId,
      chunks,
    });
    return true;
  });
  if (!stillThere) {
    await deps.store.deleteDocument("chunks", creatorId, documentId);
    return { status: "gone" };
  }
  return { status: "ready", chunkCount: chunks.length, pages };
}

export async function markFailed(
  pool: pg.Pool,
  creatorId: string,
  documentId: string,
  reason: string,
): Promise<void> {
  await withTenant(pool, creatorId, async (c) => {
    await c.query(
      `update documents set status = 'failed', error = $2, chunk_count = 0, updated_at = now()
       where id = $1`,
      [documentId, reason],
    );
    await c.query("delete from knowledge_chunks where document_id = $1", [documentId]);
  });
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
