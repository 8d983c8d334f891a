import { Buffer } from "node:buffer";
import { z } from "@hono/zod-openapi";
import type pg from "pg";
import { ValidationError } from "../errors.ts";

/** Query parameters every list route accepts. */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(25).openapi({ example: 25 }),
  // Checked here, in the shared validation, so a forged cursor is a 422 on every list.
  cursor: z.string().max(200).refine((c) => parseCursor(c) !== undefined, {
    message: "not a cursor this API issued",
  }).optional().openapi({
    description: "next_cursor of the previous page",
  }),
});

/** The envelope of every list response. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({
    data: z.array(item),
    next_cursor: z.string().nullable().openapi({ description: "null on the last page" }),
  });
}

interface Cursor {
  t: string;
  id: string;
}

/** Postgres' text of a timestamptz (`2026-12-02 17:56:17.607123+00`), as the cursor carries it. */
const PG_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?([+-]\d{2})(:\d{2})?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A cursor's position, or undefined when it is not one `listPage()` could have issued. */
function parseCursor(cursor: string): Cursor | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  const { t, id } = (parsed ?? {}) as Partial<Record<"t" | "id", unknown>>;
  if (typeof t !== "string" || typeof id !== "string" || !UUID.test(id)) return undefined;
  const m = t.match(PG_TIMESTAMP);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as number[];
  // A real calendar time: Date.UTC rolls 2026-02-31 over to March, which then does not match.
  const date = new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
  const real = date.getUTCFullYear() === y && date.getUTCMonth() === mo! - 1 &&
    date.getUTCDate() === d && date.getUTCHours() === h && date.getUTCMinutes() === mi &&
    date.getUTCSeconds() === s && y! >= 1;
  return real ? { t, id } : undefined;
}

function decodeCursor(cursor: string): Cursor {
  const parsed = parseCursor(cursor);
  if (parsed) return parsed;
  throw new ValidationError("The cursor is not one this API issued", [
    { field: "query.cursor", message: "invalid cursor" },
  ]);
}

/** What `listPage()` selects. */
export interface ListPageOptions {
  /** One table, aliased `t`. */
  from: string;
  /** Conditions on `t`, which may use `$1..$n` from `params`. */
  where?: string[];
  params?: unknown[];
  /** `t.<column> = value` for each value that is not undefined (an optional filter). */
  equal?: Record<string, unknown>;
  limit: number;
  cursor?: string;
  sortColumn?: string;
  columns?: string;
}

/**
 * Keyset pagination, newest first, over `(sortColumn, id)`. The cursor carries the exact
 * Postgres timestamp text (microseconds), so rows inserted meanwhile never shift or repeat a page.
 */
export async function listPage<Row extends Record<string, unknown>>(
  client: pg.PoolClient,
  {
    from,
    where = [],
    params = [],
    equal = {},
    limit,
    cursor,
    sortColumn = "created_at",
    columns = "t.*",
  }: ListPageOptions,
): Promise<{ rows: Row[]; nextCursor: string | null }> {
  const conditions = [...where];
  const values = [...params];
  for (const [column, value] of Object.entries(equal)) {
    if (value === undefined) continue;
    values.push(value);
    conditions.push(`t.${column} = $${values.length}`);
  }
  if (cursor) {
    const c = decodeCursor(cursor);
    values.push(c.t, c.id);
    conditions.push(
      `(t.${sortColumn}, t.id) < ($${values.length - 1}::timestamptz, $${values.length}::uuid)`,
    );
  }
  values.push(limit + 1);
  const sql = `select ${columns}, t.${sortColumn}::text as _cursor_t from ${from} t
    ${conditions.length ? "where " + conditions.join(" and ") : ""}
    order by t.${sortColumn} desc, t.id desc limit $${values.length}`;
  const { rows } = await client.query<Row & { _cursor_t: string; id: string }>(sql, values);
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page[page.length - 1];
  const nextCursor = more && last
    ? Buffer.from(JSON.stringify({ t: last._cursor_t, id: last.id })).toString("base64url")
    : null;
  return { rows: page, nextCursor };
}

/** ISO string of a timestamp column, null stays null. */
export function iso(value: Date | null | undefined): string | null {
  return value ? value.toISOString() : null;
}
