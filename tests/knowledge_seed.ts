/** Creates creators, knowledge bases and documents directly in Postgres (tests, eval, bench). */
import type pg from "pg";
import { sha256Hex } from "../api/auth/credentials.ts";
import { withTenant } from "../db/tenant.ts";

export async function seedCreator(pool: pg.Pool, name = "Coach"): Promise<string> {
  const id = crypto.randomUUID();
  await withTenant(
    pool,
    id,
    (c) =>
      c.query("insert into creators (id, email, name) values ($1, $2, $3)", [
        id,
        `${id}@example.test`,
        name,
      ]),
  );
  return id;
}

export async function seedKnowledgeBase(pool: pg.Pool, creatorId: string, name = "KB") {
  return await withTenant(pool, creatorId, async (c) => {
    const { rows: [row] } = await c.query<{ id: string }>(
      "insert into knowledge_bases (creator_id, name) values ($1, $2) returning id",
      [creatorId, name],
    );
    return row!.id;
  });
}

/** Inserts (or, with `documentId`, replaces the content of) a document row in status queued. */
export async function seedDocument(
  pool: pg.Pool,
  { creatorId, knowledgeBaseId, title, filename, mimeType, content, documentId }: {
    creatorId: string;
    knowledgeBaseId: string;
    title: string;
    filename?: string;
    mimeType: string;
    content: Uint8Array | string;
    documentId?: string;
  },
): Promise<string> {
  const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
  const sha = await sha256Hex(bytes);
  return await withTenant(pool, creatorId, async (c) => {
    if (documentId) {
      await c.query(
        `update documents set content = $2, size_bytes = $3, content_sha256 = $4, mime_type = $5,
                title = $6, status = 'queued', version = version + 1, updated_at = now()
         where id = $1`,
        [documentId, bytes, bytes.length, sha, mimeType, title],
      );
      return documentId;
    }
    const { rows: [row] } = await c.query<{ id: string }>(
      `insert into documents (creator_id, knowledge_base_id, title, filename, mime_type,
                              size_bytes, content, content_sha256)
       values ($1, $2, $3, $4, $5, $6, $7, $8) returning id`,
      [creatorId, knowledgeBaseId, title, filename ?? null, mimeType, bytes.length, bytes, sha],
    );
    return row!.id;
  });
}
