import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { NotFoundError } from "../errors.ts";
import { iso, listPage, pageOf, PageQuery } from "../lib/pagination.ts";
import {
  ALL_ROLES,
  jsonBody,
  jsonResponse,
  protectedRoute,
  uuidParam,
  WRITERS,
} from "../lib/route.ts";
import { audit, inTenant, updateSet } from "../lib/tenant.ts";

const KnowledgeBase = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  settings: z.record(z.string(), z.unknown()),
  document_count: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
}).openapi("KnowledgeBase");

const KnowledgeBaseInput = z.strictObject({
  name: z.string().min(1).max(200),
  description: z.string().max(2000).optional(),
  settings: z.record(z.string(), z.unknown()).optional(),
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
        listPage<Row & Record<string, unknown>>(client, {
          from: "knowledge_bases",
          columns: COLUMNS,
          where: q.q ? ["t.name ilike '%' || $1 || '%'"] : [],
          params: q.q ? [q.q] : [],
          limit: q.limit,
          cursor: q.cursor,
        }));
      return c.json({ data: page.rows.map(toJson), next_cursor: page.nextCursor }, 200);
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
      const row = await inTenant(c, async (client) => {
        const { rows: [kb] } = await client.query<Row>(
          `insert into knowledge_bases (creator_id, name, description, settings)
           values (app_creator_id(), $1, $2, $3) returning *, 0 document_count`,
          [body.name, body.description ?? "", body.settings ?? {}],
        );
        await audit(client, c, "knowledge_base.create", { type: "knowledge_base", id: kb!.id });
        return kb!;
      });
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
      const row = await inTenant(
        c,
        async (client) =>
          (await client.query<Row>(`select ${COLUMNS} from knowledge_bases t where t.id = $1`, [
            knowledgeBaseId,
          ])).rows[0],
      );
      if (!row) throw new NotFoundError("Knowledge base", knowledgeBaseId);
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
      const row = await inTenant(c, async (client) => {
        const params: unknown[] = [knowledgeBaseId];
        const sets = updateSet(patch, {
          name: "name",
          description: "description",
          settings: "settings",
        }, params);
        const { rows: [kb] } = await client.query<{ id: string }>(
          `update knowledge_bases set ${[...sets, "updated_at = now()"].join(", ")}
           where id = $1 returning id`,
          params,
        );
        if (!kb) return undefined;
        await audit(client, c, "knowledge_base.update", { type: "knowledge_base", id: kb.id }, {
          fields: Object.keys(patch),
        });
        return (await client.query<Row>(
          `select ${COLUMNS} from knowledge_bases t where t.id = $1`,
          [
            kb.id,
          ],
        )).rows[0];
      });
      if (!row) throw new NotFoundError("Knowledge base", knowledgeBaseId);
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
        const deleted = await client.query("delete from knowledge_bases where id = $1", [
          knowledgeBaseId,
        ]);
        if (!deleted.rowCount) return null;
        await audit(client, c, "knowledge_base.delete", {
          type: "knowledge_base",
          id: knowledgeBaseId,
        }, { documents: rows.length });
        return rows;
      });
      if (!docs) throw new NotFoundError("Knowledge base", knowledgeBaseId);
      const creatorId = c.get("auth").creatorId;
      for (const d of docs) await s.onDocumentDeleted?.(creatorId, d.id);
      return c.body(null, 204);
    },
  );
}
