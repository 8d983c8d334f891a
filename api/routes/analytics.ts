/**
 * Analytics for creators: one route per report under `/analytics/`, each read for a range of
 * days in a time zone, as JSON or as CSV (`format=csv` or `Accept: text/csv`); and one end user's
 * analytics rows, exported or erased.
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type pg from "pg";
import type { ApiEnv } from "../env.ts";
import { ADMINS, ALL_ROLES, jsonResponse, protectedRoute, uuidParam } from "../lib/route.ts";
import { audit, inTenant } from "../lib/tenant.ts";
import { NotFoundError } from "../errors.ts";
import {
  type Analytics,
  GRANULARITIES,
  type Report,
  type ReportQuery,
  REPORTS,
  rowSchema,
  toCsv,
} from "../../analytics/mod.ts";

const MAX_DAYS = 731;
const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "a date YYYY-MM-DD").refine(
  (d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)),
  "not a calendar date",
);

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const today = () => new Date().toISOString().slice(0, 10);
const daysBefore = (day: string, n: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) - n * 86_400_000).toISOString().slice(0, 10);

/** The query every report takes. */
export const ReportParams = z.object({
  from: Day.optional().openapi({ description: "First day (default: 29 days before `to`)" }),
  to: Day.optional().openapi({ description: "Last day, included (default: today in UTC)" }),
  tz: z.string().max(64).refine(isTimeZone, "an IANA time zone such as Europe/Berlin")
    .default("UTC").openapi({ description: "Time zone the days and hours are counted in" }),
  granularity: z.enum(GRANULARITIES).default("day"),
  format: z.enum(["json", "csv"]).optional().openapi({
    description: "`csv` answers text/csv (so does `Accept: text/csv`)",
  }),
  program_id: z.uuid().optional().openapi({ description: "Program funnel: one program only" }),
}).superRefine((q, ctx) => {
  // Runs even when a field failed above: a bad date is already reported, so compare nothing.
  const valid = (d: string | undefined) => d === undefined || Day.safeParse(d).success;
  if (!valid(q.to) || !valid(q.from)) return;
  const to = q.to ?? today();
  const from = q.from ?? daysBefore(to, 29);
  if (from > to) {
    ctx.addIssue({ code: "custom", path: ["from"], message: "must not be after `to`" });
  }
  const days = (Date.parse(to) - Date.parse(from)) / 86_400_000;
  if (days > MAX_DAYS) {
    ctx.addIssue({ code: "custom", path: ["to"], message: `at most ${MAX_DAYS} days after from` });
  }
});
export type ReportParams = z.infer<typeof ReportParams>;

/** The report query of `params` for `creatorId` (defaults applied). */
export function reportQuery(creatorId: string, p: ReportParams): ReportQuery {
  const to = p.to ?? today();
  return {
    creatorId,
    from: p.from ?? daysBefore(to, 29),
    to,
    tz: p.tz,
    granularity: p.granularity,
    programId: p.program_id,
  };
}

const wantsCsv = (c: Context<ApiEnv>, format?: string) =>
  format === "csv" || (format === undefined && /\btext\/csv\b/.test(c.req.header("accept") ?? ""));

function reportRoute(report: Report) {
  const Rows = z.object({
    report: z.string(),
    from: z.string(),
    to: z.string(),
    tz: z.string(),
    granularity: z.enum(GRANULARITIES),
    min_group: z.number().int(),
    data: z.array(rowSchema(report)),
  }).openapi(`Analytics_${report.field}`);
  return protectedRoute(ALL_ROLES, {
    method: "get",
    path: `/analytics/${report.path}`,
    tags: ["analytics"],
    summary: report.title,
    description: `${report.description}\n\nRows describing fewer than the minimum group size ` +
      "of people (5 by default) have their figures blanked and `suppressed: true`.",
    request: { query: ReportParams },
    responses: {
      200: {
        description: report.title,
        content: {
          "application/json": { schema: Rows },
          "text/csv": { schema: z.string() },
        },
      },
    },
  });
}

export function registerAnalytics(app: OpenAPIHono<ApiEnv>, analytics: Analytics) {
  for (const report of REPORTS) {
    app.openapi(reportRoute(report), async (c) => {
      const p = c.req.valid("query");
      const q = reportQuery(c.get("auth").creatorId, p);
      const data = await analytics.report(report, q);
      if (wantsCsv(c, p.format)) {
        return c.body(toCsv(report, data), 200, {
          "content-type": "text/csv; charset=utf-8",
          "content-disposition": `attachment; filename="${
            report.path.replaceAll("/", "-")
          }_${q.from}_${q.to}.csv"`,
        });
      }
      return c.json({
        report: report.path,
        from: q.from,
        to: q.to,
        tz: q.tz,
        granularity: q.granularity,
        min_group: analytics.minGroup,
        data,
      }, 200);
    });
  }

  const Export = z.object({
    end_user_id: z.uuid(),
    pseudonym: z.string(),
    tables: z.record(z.string(), z.array(z.record(z.string(), z.unknown()))),
  }).openapi("AnalyticsExport");
  app.openapi(
    protectedRoute(ADMINS, {
      method: "get",
      path: "/analytics/end-users/{endUserId}/export",
      tags: ["analytics"],
      summary: "Every analytics row about one end user (GDPR access)",
      request: { params: uuidParam("endUserId") },
      responses: { 200: jsonResponse(Export, "The rows, by table") },
    }),
    async (c) => {
      const { endUserId } = c.req.valid("param");
      const creatorId = c.get("auth").creatorId;
      await inTenant(c, async (client) => {
        await mustExist(client, endUserId);
        await audit(client, c, "analytics.export", { type: "end_user", id: endUserId });
      });
      const { pseudonym, ...tables } = await analytics.exportPerson(creatorId, endUserId);
      return c.json({ end_user_id: endUserId, pseudonym, tables: jsonSafe(tables) }, 200);
    },
  );
  app.openapi(
    protectedRoute(ADMINS, {
      method: "delete",
      path: "/analytics/end-users/{endUserId}",
      tags: ["analytics"],
      summary: "Erase one end user's analytics rows (erasing the end user does this too)",
      description: "For an end user who stays: their figures leave the reports; a replay of the " +
        "events stream does not bring them back.",
      request: { params: uuidParam("endUserId") },
      responses: {
        200: jsonResponse(z.object({ removed: z.number().int() }), "Rows removed"),
      },
    }),
    async (c) => {
      const { endUserId } = c.req.valid("param");
      const creatorId = c.get("auth").creatorId;
      await inTenant(c, (client) => mustExist(client, endUserId));
      const removed = await analytics.erasePerson(creatorId, endUserId);
      await inTenant(
        c,
        (client) =>
          audit(client, c, "analytics.erase", { type: "end_user", id: endUserId }, { removed }),
      );
      return c.json({ removed }, 200);
    },
  );
}

/** The end user must be the caller's (row-level security hides any other). */
async function mustExist(client: pg.PoolClient, endUserId: string) {
  const { rowCount } = await client.query("select 1 from end_users where id = $1", [endUserId]);
  if (!rowCount) throw new NotFoundError("end user", endUserId);
}

function jsonSafe(tables: Record<string, Record<string, unknown>[]>) {
  return Object.fromEntries(
    Object.entries(tables).map(([t, rows]) => [
      t,
      rows.map((r) =>
        Object.fromEntries(
          Object.entries(r).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v]),
        )
      ),
    ]),
  );
}
