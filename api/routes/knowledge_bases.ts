import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { enforceLimit } from "./billing_limits.ts";
import type { ApiEnv } from "../env.ts";
import { tenantTable } from "../lib/crud.ts";
import { iso } from "../lib/pagination.ts";
import { resourceRoutes } from "../lib/resource.ts";
import { ALL_ROLES, WRITERS } from "../lib/route.ts";

/**
 * Settings of a knowledge base. `safety_message`: the creator's own wording of the reply to
 * health questions the coach must not answer (diagnosis, medication, doses, injuries); the
 * knowledge's own safety rule is quoted after it.
 */
const Settings = z.object({
  safety_message: z.string().min(1).max(1000).optional(),
}).catchall(z.unknown()).openapi("KnowledgeBaseSettings");

const KnowledgeBase = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  settings: Settings,
  document_count: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
}).openapi("KnowledgeBase");

const KnowledgeBaseInput = z.strictObject({
  name: z.string().min(1).max(200),
  description: z.string().max(2000).optional(),
  settings: Settings.optional(),
});

interface Row {
  id: string;
  name: string;
  description: string;
  settings: Record<string, unknown>;
  document_count: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `t.id, t.name, t.description, t.settings, t.created_at, t.updated_at,
  (select count(*)::int from documents d where d.knowledge_base_id = t.id) document_count`;

const toJson = (r: Row) => ({
  id: r.id,
  name: r.name,
  description: r.description,
  settings: r.settings,
  document_count: r.document_count,
  created_at: iso(r.created_at)!,
  updated_at: iso(r.updated_at)!,
});

/** Knowledge bases; documents.ts checks them too. */
export const knowledgeBases = tenantTable({
  table: "knowledge_bases",
  type: "knowledge_base",
  name: "Knowledge base",
  columns: COLUMNS,
  updatable: ["name", "description", "settings"],
  toJson,
});

/** Knowledge bases: CRUD, filtered by name. */
export function registerKnowledgeBases(app: OpenAPIHono<ApiEnv>) {
  resourceRoutes(app, {
    table: knowledgeBases,
    tags: ["knowledge bases"],
    schema: KnowledgeBase,
    path: "/knowledge-bases",
    idParam: "knowledgeBaseId",
    list: {
      roles: ALL_ROLES,
      summary: "List knowledge bases",
      description: "A page of knowledge bases",
      query: { q: z.string().max(200).optional() },
      filter: (q) => ({
        where: q.q ? ["t.name ilike '%' || $1 || '%'"] : [],
        params: q.q ? [q.q] : [],
      }),
    },
    create: {
      roles: WRITERS,
      summary: "Create a knowledge base",
      body: KnowledgeBaseInput,
      prepare: async (c, body) => (await enforceLimit(c, "knowledge_bases"), body),
      values: (body) => ({
        name: body.name,
        description: body.description ?? "",
        settings: body.settings ?? {},
      }),
    },
    get: { roles: ALL_ROLES, summary: "Get a knowledge base", description: "The knowledge base" },
    patch: {
      roles: WRITERS,
      summary: "Update a knowledge base",
      body: KnowledgeBaseInput.partial(),
    },
    delete: {
      roles: WRITERS,
      summary: "Delete a knowledge base and its documents",
      run: async (client, c, id) => {
        const { rows } = await client.query<{ id: string }>(
          "select id from documents where knowledge_base_id = $1",
          [id],
        );
        await knowledgeBases.remove(client, c, { id, details: { documents: rows.length } });
        return rows;
      },
      // After the commit: drop the documents' chunks and embeddings.
      afterCommit: async (c, _id, docs) => {
        const creatorId = c.get("auth").creatorId;
        for (const d of docs) await c.get("services").onDocumentDeleted?.(creatorId, d.id);
      },
    },
  });
}
