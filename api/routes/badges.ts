import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { tenantTable } from "../lib/crud.ts";
import { iso } from "../lib/pagination.ts";
import { resourceRoutes } from "../lib/resource.ts";
import { ALL_ROLES, WRITERS } from "../lib/route.ts";
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
  /** What the coach says when it awards the badge. */
  message: z.string().nullable(),
  criteria: z.string(),
  criteria_ast: z.unknown(),
  created_at: z.string(),
  updated_at: z.string(),
}).openapi("Badge");

const BadgeInput = z.strictObject({
  name: z.string().min(1).max(200),
  description: z.string().max(2000).optional(),
  icon_url: z.url().max(2000).nullable().optional(),
  message: z.string().min(1).max(2000).nullable().optional().openapi({
    description: "What the coach says when it awards the badge, in your words",
  }),
  criteria: CriteriaText,
});

interface Row {
  id: string;
  name: string;
  description: string;
  icon_url: string | null;
  message: string | null;
  criteria: string;
  criteria_ast: Criteria;
  created_at: Date;
  updated_at: Date;
}
const COLUMNS =
  "id, name, description, icon_url, message, criteria, criteria_ast, created_at, updated_at";
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
  updatable: ["name", "description", "icon_url", "message", "criteria", "criteria_ast"],
  toJson,
});

/** Badges with criteria in the small DSL of schemas/badge_criteria.ts. */
export function registerBadges(app: OpenAPIHono<ApiEnv>) {
  resourceRoutes(app, {
    table: badges,
    tags: ["badges"],
    schema: Badge,
    path: "/badges",
    idParam: "badgeId",
    list: { roles: ALL_ROLES, summary: "List badges", description: "A page of badges" },
    create: {
      roles: WRITERS,
      summary: "Create a badge",
      body: BadgeInput,
      values: (body) => ({
        name: body.name,
        description: body.description ?? "",
        icon_url: body.icon_url ?? null,
        message: body.message ?? null,
        criteria: body.criteria,
        criteria_ast: JSON.stringify(parseCriteria(body.criteria)),
      }),
    },
    get: { roles: ALL_ROLES, summary: "Get a badge", description: "The badge" },
    patch: {
      roles: WRITERS,
      summary: "Update a badge",
      body: BadgeInput.partial(),
      set: (patch) => ({
        ...patch,
        criteria_ast: patch.criteria ? JSON.stringify(parseCriteria(patch.criteria)) : undefined,
      }),
      details: (patch) => ({ fields: Object.keys(patch) }),
    },
    delete: { roles: WRITERS, summary: "Delete a badge (users who earned it lose it)" },
  });
}
