/** Chunk text in Postgres: lexical (full-text) search, citations, and per-document replacement. */
import type pg from "pg";
import type { Chunk } from "../ingest/chunk.ts";

export interface ChunkRow {
  id: string;
  knowledge_base_id: string;
  document_id: string;
  ordinal: number;
  heading: string;
  text: string;
  start_offset: number;
  end_offset: number;
  page: number | null;
}

/** Stable chunk id: the document and the chunk's place in it. */
export function chunkId(documentId: string, ordinal: number): string {
  return `${documentId}:${ordinal}`;
}

/** Replaces every chunk of a document (inside the caller's tenant transaction). */
export async function replaceChunks(
  client: pg.PoolClient,
  { creatorId, knowledgeBaseId, documentId, chunks }: {
    creatorId: string;
    knowledgeBaseId: string;
    documentId: string;
    chunks: Chunk[];
  },
): Promise<void> {
  await client.query("delete from knowledge_chunks where document_id = $1", [documentId]);
  for (let i = 0; i < chunks.length; i += 200) {
    const batch = chunks.slice(i, i + 200);
    await client.query(
      `insert into knowledge_chunks
         (id, creator_id, knowledge_base_id, document_id, ordinal, heading, text, start_offset,
          end_offset, page)
       select * from unnest($1::text[], $2::uuid[], $3::uuid[], $4::uuid[], $5::int[], $6::text[],
                            $7::text[], $8::int[], $9::int[], $10::int[])`,
      [
        batch.map((c) => chunkId(documentId, c.ordinal)),
        batch.map(() => creatorId),
        batch.map(() => knowledgeBaseId),
        batch.map(() => documentId),
        batch.map((c) => c.ordinal),
        batch.map((c) => c.heading),
        batch.map((c) => c.text),
        batch.map((c) => c.start),
        batch.map((c) => c.end),
        batch.map((c) => c.page ?? null),
      ],
    );
  }
}

export interface LexicalHit extends ChunkRow {
  rank: number;
}

/**
 * Full-text search. Chunks holding every word of the question (AND) come first; when none do,
 * chunks holding any of its words (OR, prefix match) are ranked by cover density, since users
 * rarely use every word of a passage. Runs under the tenant's row-level security.
 */
export async function lexicalSearch(
  client: pg.PoolClient,
  query: string,
  { k, knowledgeBaseIds }: { k: number; knowledgeBaseIds?: string[] },
): Promise<(LexicalHit & { all: boolean })[]> {
  // Built first, so the main query sees constant tsqueries and the planner uses the GIN index.
  const { rows: [q] } = await client.query<{ q_all: string | null; q_any: string | null }>(
    `select plainto_tsquery('english', $1)::text as q_all,
            to_tsquery('english', string_agg(quote_literal(lexeme) || ':*', ' | '))::text as q_any
     from unnest(to_tsvector('english', $1)) as t(lexeme, positions, weights)
     where length(lexeme) > 1`,
    [query],
  );
  if (!q?.q_any) return [];
  // Chunks holding every word are ranked in full; any-word matches are ranked within a bounded
  // sample so a common word cannot make the query scan a large corpus.
  const { rows } = await client.query<LexicalHit & { all: boolean }>(
    `with hits as (
       (select c.*, true as every from knowledge_chunks c
        where c.tsv @@ $2::tsquery
          and ($4::uuid[] is null or c.knowledge_base_id = any($4::uuid[])))
       union all
       (select c.*, false as every from knowledge_chunks c
        where c.tsv @@ $1::tsquery and not c.tsv @@ $2::tsquery
          and ($4::uuid[] is null or c.knowledge_base_id = any($4::uuid[]))
        limit $5)
     )
     select id, knowledge_base_id, document_id, ordinal, heading, text, start_offset, end_offset,
            page, ts_rank_cd(tsv, $1::tsquery, 1) as rank, every as "all"
     from hits
     order by every desc, rank desc, id
     limit $3`,
    [q.q_any, q.q_all || q.q_any, k, knowledgeBaseIds?.length ? knowledgeBaseIds : null, 2000],
  );
  return rows;
}

/** Chunk rows by id with their document's title; row-level security keeps only the tenant's. */
export async function chunksById(
  client: pg.PoolClient,
  ids: string[],
): Promise<(ChunkRow & { title: string; creator_id: string })[]> {
  if (!ids.length) return [];
  const { rows } = await client.query<ChunkRow & { title: string; creator_id: string }>(
    `select c.id, c.creator_id, c.knowledge_base_id, c.document_id, c.ordinal, c.heading, c.text,
            c.start_offset, c.end_offset, c.page, d.title
     from knowledge_chunks c join documents d on d.id = c.document_id
     where c.id = any($1::text[])`,
    [ids],
  );
  return rows;
}
