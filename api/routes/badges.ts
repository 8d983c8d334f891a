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
const badges = tenantTable({
  table: "badges",
  type: "badge",
  name: "Badge",
  columns: COLUMNS,
  updatable: ["name", "description", "icon_url", "criteria", "criteria_ast"],
  toJson,
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
      const page = await inTenant(
        c,
        (client) => badges.list(client, { limit: q.limit, cursor: q.cursor }),
      );
      return c.json(page, 200);
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
      const row = await inTenant(c, (client) =>
        badges.create(client, c, {
          values: {
            name: body.name,
            description: body.description ?? "",
            icon_url: body.icon_url ?? null,
            criteria: body.criteria,
            criteria_ast: JSON.stringify(parseCriteria(body.criteria)),
          },
        }));
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
      const row = await inTenant(c, (client) => badges.find(client, badgeId));
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
      const row = await inTenant(c, (client) =>
        badges.update(client, c, {
          id: badgeId,
          set: {
            ...patch,
            criteria_ast: patch.criteria
              ? JSON.stringify(parseCriteria(patch.criteria))
              : undefined,
          },
          details: { fields: Object.keys(patch) },
        }));
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
      await inTenant(c, (client) => badges.remove(client, c, { id: badgeId }));
      return c.body(null, 204);
    },
  );
}
