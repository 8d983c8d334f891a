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
import { type Criteria, CriteriaSyntaxError, parseCriteria } from "../schemas/badge_criteria.ts";

const CriteriaText = z.string().min(1).max(1000).superRefine((text, ctx) => {
  try {
    parseCriteria(text);
  } catch (err) {
    if (!(err instanceof CriteriaSyntaxError)) throw err;
    ctx.addIssue({ code: "custom", message: err.message });
  }
}).openapi({ example: "streak_days >= 7 and sessions >= 3" });

const Badge = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  icon_url: z.string().nullable(),
  criteria: z.string(),
  criteria_ast: z.unknown(),
  created_at: z.string(),
  updated_at: z.string(),
}).openapi("Badge");

const BadgeInput = z.strictObject({
  name: z.string().min(1).max(200),
  description: z.string().max(2000).optional(),
  icon_url: z.url().max(2000).nullable().optional(),
  criteria: CriteriaText,
});

interface Row {
  id: string;
  name: string;
  description: string;
  icon_url: string | null;
  criteria: string;
  criteria_ast: Criteria;
  created_at: Date;
  updated_at: Date;
}
const COLUMNS = "id, name, description, icon_url, criteria, criteria_ast, created_at, updated_at";
const toJson = (r: Row) => ({
  ...r,
  created_at: iso(r.created_at)!,
  updated_at: iso(r.updated_at)!,
});
const Id = uuidParam("badgeId");
const tags = ["badges"];

/** Badges with criteria in the small DSL of schemas/badge_criteria.ts. */
export function registerBadges(app: OpenAPIHono<ApiEnv>) {
  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/badges",
      tags,
      summary: "List badges",
      request: { query: PageQuery },
      responses: { 200: jsonResponse(pageOf(Badge), "A page of badges") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const page = await inTenant(c, (client) =>
        listPage<Row & Record<string, unknown>>(client, {
          from: "badges",
          columns: COLUMNS.split(",").map((col) => `t.${col.trim()}`).join(", "),
          limit: q.limit,
          cursor: q.cursor,
        }));
      return c.json({ data: page.rows.map(toJson), next_cursor: page.nextCursor }, 200);
    },
  );

  app.openapi(
    protectedRoute(WRITERS, {
      method: "post",
      path: "/badges",
      tags,
      summary: "Create a badge",
      request: { body: jsonBody(BadgeInput) },
      responses: { 201: jsonResponse(Badge, "Created") },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const row = await inTenant(c, async (client) => {
        const { rows: [b] } = await client.query<Row>(
          `insert into badges (creator_id, name, description, icon_url, criteria, criteria_ast)
           values (app_creator_id(), $1, $2, $3, $4, $5) returning ${COLUMNS}`,
          [
            body.name,
            body.description ?? "",
            body.icon_url ?? null,
            body.criteria,
            JSON.stringify(parseCriteria(body.criteria)),
          ],
        );
        await audit(client, c, "badge.create", { type: "badge", id: b!.id });
        return b!;
      });
      c.header("location", `/v1/badges/${row.id}`);
      return c.json(toJson(row), 201);
    },
  );

  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/badges/{badgeId}",
      tags,
      summary: "Get a badge",
      request: { params: Id },
      responses: { 200: jsonResponse(Badge, "The badge") },
    }),
    async (c) => {
      const { badgeId } = c.req.valid("param");
      const row = await inTenant(
        c,
        async (client) =>
          (await client.query<Row>(`select ${COLUMNS} from badges where id = $1`, [badgeId]))
            .rows[0],
      );
      if (!row) throw new NotFoundError("Badge", badgeId);
      return c.json(toJson(row), 200);
    },
  );

  app.openapi(
    protectedRoute(WRITERS, {
      method: "patch",
      path: "/badges/{badgeId}",
      tags,
      summary: "Update a badge",
      request: { params: Id, body: jsonBody(BadgeInput.partial()) },
      responses: { 200: jsonResponse(Badge, "Updated") },
    }),
    async (c) => {
      const { badgeId } = c.req.valid("param");
      const patch = c.req.valid("json");
      const row = await inTenant(c, async (client) => {
        const params: unknown[] = [badgeId];
        const values = {
          ...patch,
          criteria_ast: patch.criteria ? JSON.stringify(parseCriteria(patch.criteria)) : undefined,
        };
        const sets = updateSet(values, {
          name: "name",
          description: "description",
          icon_url: "icon_url",
          criteria: "criteria",
          criteria_ast: "criteria_ast",
        }, params);
        const { rows: [b] } = await client.query<Row>(
          `update badges set ${[...sets, "updated_at = now()"].join(", ")} where id = $1
           returning ${COLUMNS}`,
          params,
        );
        if (b) {
          await audit(client, c, "badge.update", { type: "badge", id: badgeId }, {
            fields: Object.keys(patch),
          });
        }
        return b;
      });
      if (!row) throw new NotFoundError("Badge", badgeId);
      return c.json(toJson(row), 200);
    },
  );

  app.openapi(
    protectedRoute(WRITERS, {
      method: "delete",
      path: "/badges/{badgeId}",
      tags,
      summary: "Delete a badge (users who earned it lose it)",
      request: { params: Id },
      responses: { 204: { description: "Deleted" } },
    }),
    async (c) => {
      const { badgeId } = c.req.valid("param");
      const found = await inTenant(c, async (client) => {
        const res = await client.query("delete from badges where id = $1", [badgeId]);
        if (res.rowCount) await audit(client, c, "badge.delete", { type: "badge", id: badgeId });
        return res.rowCount === 1;
      });
      if (!found) throw new NotFoundError("Badge", badgeId);
      return c.body(null, 204);
    },
  );
}
