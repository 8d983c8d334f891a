/**
 * Rebuilds the vector index (Chroma) from Postgres, the source of truth: every ready document's
 * chunks (from `knowledge_chunks`) and every end user's profile (from the user actor's state),
 * creator by creator, with progress. Chroma is derived data: after a restore, a lost Chroma
 * volume or a change of embedding model this makes it whole again. Idempotent (records have
 * deterministic ids and each document's chunks are replaced as a whole).
 *
 * Conversation memories are not rebuilt: they are written from the exchange as it happened,
 * and the recent turns a conversation needs are in its actor state anyway.
 */
import type pg from "pg";
import { withSystem } from "../../db/tenant.ts";
import { chunkId, type Embedder, embeddingText, type VectorStore } from "../../knowledge/mod.ts";
import { profileText } from "../../actors/user/profile.ts";
import type { Profile } from "../../actors/contracts/user.ts";

export interface ReindexProgress {
  creatorId: string;
  /** Documents (or profiles) of this creator done so far, out of `total`. */
  done: number;
  total: number;
  kind: "chunks" | "profiles";
}

export interface ReindexReport {
  creators: number;
  documents: number;
  chunks: number;
  profiles: number;
  ms: number;
}

const BATCH = 64;

export async function reindexAll(
  { pool, store, embedder, onProgress = () => {} }: {
    pool: pg.Pool;
    store: VectorStore;
    embedder: Embedder;
    onProgress?: (p: ReindexProgress) => void;
  },
): Promise<ReindexReport> {
  const started = performance.now();
  const report: ReindexReport = { creators: 0, documents: 0, chunks: 0, profiles: 0, ms: 0 };
  const creators = await withSystem(
    pool,
    async (c) =>
      (await c.query<{ id: string }>("select id from creators order by id")).rows.map((r) => r.id),
  );
  for (const creatorId of creators) {
    report.creators++;
    const docs = await withSystem(
      pool,
      async (c) =>
        (await c.query<{ id: string; knowledge_base_id: string }>(
          `select id, knowledge_base_id from documents
         where creator_id = $1 and status = 'ready' order by id`,
          [creatorId],
        )).rows,
    );
    let done = 0;
    for (const doc of docs) {
      report.chunks += await reindexDocument({ pool, store, embedder }, creatorId, doc);
      report.documents++;
      onProgress({ creatorId, kind: "chunks", done: ++done, total: docs.length });
    }
    report.profiles += await reindexProfiles({ pool, store, embedder }, creatorId, onProgress);
  }
  report.ms = Math.round(performance.now() - started);
  return report;
}

async function reindexDocument(
  { pool, store, embedder }: { pool: pg.Pool; store: VectorStore; embedder: Embedder },
  creatorId: string,
  doc: { id: string; knowledge_base_id: string },
): Promise<number> {
  const rows = await withSystem(
    pool,
    async (c) =>
      (await c.query<{ ordinal: number; heading: string; text: string; page: number | null }>(
        `select ordinal, heading, text, page from knowledge_chunks
       where document_id = $1 order by ordinal`,
        [doc.id],
      )).rows,
  );
  await store.deleteDocument("chunks", creatorId, doc.id);
  for (let i = 0; i < rows.length; i += BATCH) {
    const part = rows.slice(i, i + BATCH);
    const vectors = await embedder.embed(part.map(embeddingText));
    await store.upsert(
      "chunks",
      part.map((r, j) => ({
        id: chunkId(doc.id, r.ordinal),
        embedding: vectors[j]!,
        text: r.text,
        meta: {
          creator_id: creatorId,
          knowledge_base_id: doc.knowledge_base_id,
          document_id: doc.id,
          ordinal: r.ordinal,
          heading: r.heading,
          ...(r.page ? { page: r.page } : {}),
        },
      })),
    );
  }
  return rows.length;
}

/** The user actors' profiles, as their `updateProfile` turns put them (erased lives skipped). */
async function reindexProfiles(
  { pool, store, embedder }: { pool: pg.Pool; store: VectorStore; embedder: Embedder },
  creatorId: string,
  onProgress: (p: ReindexProgress) => void,
): Promise<number> {
  const users = await withSystem(
    pool,
    async (c) =>
      (await c.query<{ actor_id: string; profile: Profile; gen: string }>(
        `select s.actor_id, s.state->'profile' as profile, s.state->>'indexGen' as gen
       from rt_actor_state s
       left join vector_index_marks m on m.gen = (s.state->>'indexGen')::uuid
       where s.actor_type = 'user' and s.actor_id like $1 || ':%'
         and s.state ? 'indexGen' and m.erased_at is null
       order by s.actor_id`,
        [creatorId],
      )).rows,
  );
  const records = users
    .map((u) => ({ ...u, text: profileText(u.profile) }))
    .filter((u) => u.text);
  for (let i = 0; i < records.length; i += BATCH) {
    const part = records.slice(i, i + BATCH);
    const vectors = await embedder.embed(part.map((u) => u.text));
    await store.upsert(
      "profiles",
      part.map((u, j) => ({
        id: `${u.actor_id}:${u.gen}`,
        embedding: vectors[j]!,
        text: u.text,
        meta: { creator_id: creatorId, knowledge_base_id: "", document_id: u.actor_id, gen: u.gen },
      })),
    );
    onProgress({
      creatorId,
      kind: "profiles",
      done: i + part.length,
      total: records.length,
    });
  }
  return records.length;
}
