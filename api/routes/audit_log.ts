import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { iso, listPage, pageOf, PageQuery } from "../lib/pagination.ts";
import { ADMINS, jsonResponse, protectedRoute } from "../lib/route.ts";
import { inTenant } from "../lib/tenant.ts";

const AuditEntry = z.object({
  id: z.uuid(),
  actor_kind: z.string(),
  actor_subject: z.string(),
  action: z.string(),
  resource_type: z.string(),
  resource_id: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  request_id: z.string().nullable(),
  created_at: z.string(),
}).openapi("AuditEntry");

interface Row {
  id: string;
  actor_kind: string;
  actor_subject: string;
  action: string;
  resource_type: string;
  resource_id: string | null;
  details: Record<string, unknown>;
  request_id: string | null;
  created_at: Date;
}

/** The audit log: who changed what, newest first. */
export function registerAuditLog(app: OpenAPIHono<ApiEnv>) {
  app.openapi(
    protectedRoute(ADMINS, {
      method: "get",
      path: "/audit-log",
      tags: ["audit log"],
      summary: "List audit entries",
      request: {
        query: PageQuery.extend({
          action: z.string().max(100).optional().openapi({ example: "program.publish" }),
          resource_type: z.string().max(100).optional(),
          resource_id: z.string().max(100).optional(),
          since: z.iso.datetime().optional(),
        }),
      },
      responses: { 200: jsonResponse(pageOf(AuditEntry), "A page of entries") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const where: string[] = [];
      const params: unknown[] = [];
      for (
        const [column, value, op] of [
          ["action", q.action, "="],
          ["resource_type", q.resource_type, "="],
          ["resource_id", q.resource_id, "="],
          ["created_at", q.since, ">="],
        ] as const
      ) {
        if (value === undefined) continue;
        params.push(value);
        where.push(`t.${column} ${op} $${params.length}`);
      }
      const page = await inTenant(c, (client) =>
        listPage<Row & Record<string, unknown>>(client, {
          from: "audit_log",
          columns: "t.*",
          where,
          params,
          limit: q.limit,
          cursor: q.cursor,
        }));
      return c.json({
        data: page.rows.map((r) => ({
          id: r.id,
          actor_kind: r.actor_kind,
          actor_subject: r.actor_subject,
          action: r.action,
          resource_type: r.resource_type,
          resource_id: r.resource_id,
          details: r.details,
          request_id: r.request_id,
          created_at: iso(r.created_at)!,
        })),
        next_cursor: page.nextCursor,
      }, 200);
    },
  );
}
