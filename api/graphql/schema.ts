/**
 * The GraphQL schema, code-first with Pothos: the signed-in creator (`viewer`) and their
 * analytics for a range (`analytics(range:)`), one field per report, each row type made from the
 * report's columns. Resolvers read through the same tenant transaction as REST (row-level
 * security applies). The printed schema is committed as api/graphql/schema.graphql.
 */
import SchemaBuilder from "@pothos/core";
import { GraphQLError, type GraphQLSchema, lexicographicSortSchema, printSchema } from "graphql";
import {
  type Analytics,
  GRANULARITIES,
  type Report,
  type ReportQuery,
  REPORTS,
  type Row,
} from "../../analytics/mod.ts";
import { ReportParams, reportQuery } from "../routes/analytics.ts";
import type { AuthContext } from "../env.ts";

export interface GraphqlContext {
  auth: AuthContext;
  analytics: Analytics;
}

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const pascal = (s: string) => camel(s).replace(/^./, (c) => c.toUpperCase());

/** The query of one `analytics(range:)` call, checked like REST's query parameters. */
interface RangeView {
  query: ReportQuery;
}

export function buildSchema(): GraphQLSchema {
  const builder = new SchemaBuilder<{ Context: GraphqlContext; DefaultFieldNullability: false }>({
    defaultFieldNullability: false,
  });

  const Granularity = builder.enumType("Granularity", { values: [...GRANULARITIES] });
  const Range = builder.inputType("AnalyticsRange", {
    description: "Days from `from` to `to` (included, YYYY-MM-DD) in the time zone `tz`.",
    fields: (t) => ({
      from: t.string({ description: "First day (default: 29 days before `to`)" }),
      to: t.string({ description: "Last day, included (default: today in UTC)" }),
      tz: t.string({ description: "IANA time zone (default UTC)" }),
      granularity: t.field({ type: Granularity, description: "Default day" }),
    }),
  });

  const Viewer = builder.objectRef<AuthContext>("Viewer").implement({
    description: "Who is asking: the creator and the caller's role.",
    fields: (t) => ({
      creatorId: t.id({ resolve: (a) => a.creatorId }),
      role: t.string({ resolve: (a) => a.role }),
    }),
  });

  const rowType = (report: Report) =>
    builder.objectRef<Row>(`${pascal(report.field)}Row`).implement({
      description: report.title,
      fields: (t) => ({
        ...Object.fromEntries(report.columns.map((c) => [
          camel(c.name),
          t.field({
            type: c.type === "string" ? "String" : c.type === "int" ? "Int" : "Float",
            nullable: true,
            description: c.description,
            resolve: (r) => r[c.name] as never,
          }),
        ])),
        suppressed: t.boolean({
          description: "Fewer people than the minimum group size: figures blanked",
          resolve: (r) => r.suppressed === true,
        }),
      }),
    });

  const AnalyticsView = builder.objectRef<RangeView>("Analytics").implement({
    description: "A creator's analytics for one range. Rows describing fewer than `minGroup` " +
      "people have their figures blanked and `suppressed` set.",
    fields: (t) => ({
      from: t.string({ resolve: (v) => v.query.from }),
      to: t.string({ resolve: (v) => v.query.to }),
      tz: t.string({ resolve: (v) => v.query.tz }),
      granularity: t.field({ type: Granularity, resolve: (v) => v.query.granularity }),
      minGroup: t.int({ resolve: (_v, _a, ctx) => ctx.analytics.minGroup }),
      ...Object.fromEntries(REPORTS.map((report) => {
        const type = rowType(report);
        return [
          report.field,
          t.field({
            type: [type],
            description: report.description,
            args: report.path === "programs" ? { programId: t.arg.id() } : {},
            resolve: (v, args, ctx) =>
              ctx.analytics.report(report, {
                ...v.query,
                // The same tenant as the caller, whatever the view says.
                creatorId: ctx.auth.creatorId,
                ...(args.programId ? { programId: checkUuid(String(args.programId)) } : {}),
              }),
          }),
        ];
      })),
    }),
  });

  builder.queryType({
    fields: (t) => ({
      viewer: t.field({ type: Viewer, resolve: (_r, _a, ctx) => ctx.auth }),
      analytics: t.field({
        type: AnalyticsView,
        args: { range: t.arg({ type: Range }) },
        resolve: (_r, args, ctx) => {
          const r = args.range ?? {};
          const parsed = ReportParams.safeParse({
            from: r.from ?? undefined,
            to: r.to ?? undefined,
            tz: r.tz ?? undefined,
            granularity: r.granularity ?? undefined,
          });
          if (!parsed.success) {
            const errors = parsed.error.issues.map((i) => ({
              field: `range.${i.path.join(".")}`,
              message: i.message,
            }));
            throw new GraphQLError(
              `Invalid range: ${errors.map((e) => `${e.field} ${e.message}`).join("; ")}`,
              { extensions: { code: "BAD_USER_INPUT", errors } },
            );
          }
          return { query: reportQuery(ctx.auth.creatorId, parsed.data) };
        },
      }),
    }),
  });
  return builder.toSchema();
}

function checkUuid(id: string): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) {
    throw new GraphQLError("programId must be a uuid", {
      extensions: { code: "BAD_USER_INPUT", errors: [{ field: "programId", message: "uuid" }] },
    });
  }
  return id;
}

/** The schema as committed in api/graphql/schema.graphql. */
export function printedSchema(): string {
  return `${printSchema(lexicographicSortSchema(buildSchema()))}\n`;
}
