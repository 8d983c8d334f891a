import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { tenantTable } from "../lib/crud.ts";
import { iso, pageOf, PageQuery } from "../lib/pagination.ts";
import {
  ALL_ROLES,
  jsonBody,
  jsonResponse,
  protectedRoute,
  uuidParam,
  WRITERS,
} from "../lib/route.ts";
import { inTenant } from "../lib/tenant.ts";

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

const Id = uuidParam("knowledgeBaseId");
const tags = ["knowledge bases"];

/** Knowledge bases: CRUD, filtered by name. */
export function registerKnowledgeBases(app: OpenAPIHono<ApiEnv>) {
  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/knowledge-bases",
      tags,
      summary: "List knowledge bases",
      request: { query: PageQuery.extend({ q: z.string().max(200).optional() }) },
      responses: { 200: jsonResponse(pageOf(KnowledgeBase), "A page of knowledge bases") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const page = await inTenant(c, (client) =>
        knowledgeBases.list(client, {
          where: q.q ? ["t.name ilike '%' || $1 || '%'"] : [],
          params: q.q ? [q.q] : [],
          limit: q.limit,
          cursor: q.cursor,
        }));
      return c.json(page, 200);
    },
  );

  app.openapi(
    protectedRoute(WRITERS, {
      method: "post",
      path: "/knowledge-bases",
      tags,
      summary: "Create a knowledge base",
      request: { body: jsonBody(KnowledgeBaseInput) },
      responses: { 201: jsonResponse(KnowledgeBase, "Created") },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const row = await inTenant(c, (client) =>
        knowledgeBases.create(client, c, {
          values: {
            name: body.name,
            description: body.description ?? "",
            settings: body.settings ?? {},
          },
        }));
      c.header("location", `/v1/knowledge-bases/${row.id}`);
      return c.json(toJson(row), 201);
    },
  );

  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/knowledge-bases/{knowledgeBaseId}",
      tags,
      summary: "Get a knowledge base",
      request: { params: Id },
      responses: { 200: jsonResponse(KnowledgeBase, "The knowledge base") },
    }),
    async (c) => {
      const { knowledgeBaseId } = c.req.valid("param");
      const row = await inTenant(c, (client) => knowledgeBases.find(client, knowledgeBaseId));
      return c.json(toJson(row), 200);
    },
  );

  app.openapi(
    protectedRoute(WRITERS, {
      method: "patch",
      path: "/knowledge-bases/{knowledgeBaseId}",
      tags,
      summary: "Update a knowledge base",
      request: { params: Id, body: jsonBody(KnowledgeBaseInput.partial()) },
      responses: { 200: jsonResponse(KnowledgeBase, "Updated") },
    }),
    async (c) => {
      const { knowledgeBaseId } = c.req.valid("param");
      const patch = c.req.valid("json");
      const row = await inTenant(
        c,
        (client) => knowledgeBases.update(client, c, { id: knowledgeBaseId, set: patch }),
      );
      return c.json(toJson(row), 200);
    },
  );

  app.openapi(
    protectedRoute(WRITERS, {
      method: "delete",
      path: "/knowledge-bases/{knowledgeBaseId}",
      tags,
      summary: "Delete a knowledge base and its documents",
      request: { params: Id },
      responses: { 204: { description: "Deleted" } },
    }),
    async (c) => {
      const { knowledgeBaseId } = c.req.valid("param");
      const s = c.get("services");
      const docs = await inTenant(c, async (client) => {
        const { rows } = await client.query<{ id: string }>(
          "select id from documents where knowledge_base_id = $1",
          [knowledgeBaseId],
        );
        await knowledgeBases.remove(client, c, {
          id: knowledgeBaseId,
          details: { documents: rows.length },
        });
        return rows;
      });
      const creatorId = c.get("auth").creatorId;
      for (const d of docs) await s.onDocumentDeleted?.(creatorId, d.id);
      return c.body(null, 204);
    },
  );
}
