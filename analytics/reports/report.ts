/**
 * A report is one table a creator reads: typed columns (from which the REST schema, the CSV and
 * the GraphQL type are made), a query over the read models, and the minimum group size: a row
 * that describes fewer than `minGroup` distinct people (its `users` column) is returned with its
 * figures blanked and `suppressed` set, so no one can be singled out.
 */
import type pg from "pg";
import { z } from "zod";

export type ColumnType = "string" | "int" | "float";

export interface Column {
  name: string;
  type: ColumnType;
  description: string;
  /** A label of the row (kept when the row is suppressed), not a figure. */
  key?: boolean;
}

export const GRANULARITIES = ["day", "week", "month"] as const;
export type Granularity = typeof GRANULARITIES[number];

/** The range and calendar a report is read in. */
export interface ReportQuery {
  creatorId: string;
  /** First day, `YYYY-MM-DD`, in `tz`. */
  from: string;
  /** Last day (included), `YYYY-MM-DD`, in `tz`. */
  to: string;
  tz: string;
  granularity: Granularity;
  /** Restricts the program funnel to one program. */
  programId?: string;
}

export type Row = Record<string, string | number | boolean | null>;

export interface Report {
  /** Path under `/v1/analytics/` and GraphQL field name source. */
  path: string;
  /** camelCase name for GraphQL. */
  field: string;
  title: string;
  description: string;
  columns: Column[];
  /** Rows, each with a `users` count; bounds in SQL: `$1` creator, `$2` from, `$3` to (excl.). */
  run(client: pg.PoolClient, q: ReportQuery): Promise<Row[]>;
}

/** The default minimum group size (people) of a breakdown row. */
export const MIN_GROUP = 5;

/** Blanks the figures of rows describing fewer than `minGroup` people. */
export function suppress(report: Report, rows: Row[], minGroup: number): Row[] {
  return rows.map((r) => {
    const users = Number(r.users ?? 0);
    if (users >= minGroup) return { ...r, suppressed: false };
    const out: Row = { suppressed: true };
    for (const c of report.columns) out[c.name] = c.key ? r[c.name] ?? null : null;
    return out;
  });
}

/** The zod schema of a report's rows (figures are null in a suppressed row). */
export function rowSchema(report: Report) {
  const shape: Record<string, z.ZodType> = {};
  for (const c of report.columns) {
    const base = c.type === "string"
      ? z.string()
      : c.type === "int"
      ? z.number().int()
      : z.number();
    shape[c.name] = base.nullable().describe(c.description);
  }
  shape.suppressed = z.boolean().describe("Fewer people than the minimum group size");
  return z.object(shape);
}

/** Reads the report and applies the minimum group size. */
export async function readReport(
  client: pg.PoolClient,
  report: Report,
  q: ReportQuery,
  minGroup = MIN_GROUP,
): Promise<Row[]> {
  const rows = await report.run(client, q);
  return suppress(report, rows.map((r) => normalize(report, r)), minGroup);
}

function normalize(report: Report, r: Row): Row {
  const out: Row = {};
  for (const c of report.columns) {
    const v = r[c.name];
    out[c.name] = v === null || v === undefined
      ? null
      : c.type === "string"
      ? String(v)
      : c.type === "int"
      ? Number(v)
      : Math.round(Number(v) * 10_000) / 10_000;
  }
  return out;
}

/** Bounds of the query's days as `timestamptz` (SQL fragments for `$2`, `$3`, `$4` = tz). */
export const RANGE = {
  from: "(($2::date)::timestamp at time zone $4)",
  to: "((($3::date) + 1)::timestamp at time zone $4)",
};

/** The four positional parameters every report query takes. */
export function rangeParams(q: ReportQuery): unknown[] {
  return [q.creatorId, q.from, q.to, q.tz];
}

/** A report's rows as CSV (RFC 4180: quoted where needed, CRLF line ends). */
export function toCsv(report: Report, rows: Row[]): string {
  const names = [...report.columns.map((c) => c.name), "suppressed"];
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return "";
    const s = String(v);
    // A leading = + - @ would run as a formula in a spreadsheet.
    const safe = /^[=+\-@\t\r]/.test(s) && !/^-?\d/.test(s) ? `'${s}` : s;
    return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
  };
  return [names.join(","), ...rows.map((r) => names.map((n) => cell(r[n])).join(","))]
    .join("\r\n") + "\r\n";
}
