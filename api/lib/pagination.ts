import { Buffer } from "node:buffer";
import { z } from "@hono/zod-openapi";
import type pg from "pg";
import { ValidationError } from "../errors.ts";

/** Query parameters every list route accepts. */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(25).openapi({ example: 25 }),
  cursor: z.string().max(200).optional().openapi({
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

function decodeCursor(cursor: string): Cursor {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (typeof parsed?.t === "string" && typeof parsed?.id === "string") return parsed;
  } catch {
    // fall through
  }
  throw new ValidationError("The cursor is not one this API issued", [
    { field: "query.cursor", message: "invalid cursor" },
  ]);
}

/**
 * Keyset pagination, newest first, over `(sortColumn, id)`. The cursor carries the exact
 * Postgres timestamp text (microseconds), so rows inserted meanwhile never shift or repeat a page.
 * `sql` must select `*`-like columns from one table aliased `t` and may use `$1..$n` from `params`
 * in its where clause (given as `where`).
 */
export async function listPage<Row extends Record<string, unknown>>(
  client: pg.PoolClient,
  { from, where = [], params = [], limit, cursor, sortColumn = "created_at", columns = "t.*" }: {
    from: string;
    where?: string[];
    params?: unknown[];
    limit: number;
    cursor?: string;
    sortColumn?: string;
    columns?: string;
  },
): Promise<{ rows: Row[]; nextCursor: string | null }> {
  const conditions = [...where];
  const values = [...params];
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
