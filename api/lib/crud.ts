/**
 * The CRUD statements the resource routes share, for a tenant table whose rows are addressed by
 * `id`: list a page, find, create, update and delete one row, each change audited in the same
 * transaction. Every function takes the client of an `inTenant` transaction, so a route can check
 * or tell something else in that transaction. Routes whose statements differ (publishing,
 * revoking, re-uploading) write their own SQL.
 * @module
 */
import type { Context } from "hono";
import type pg from "pg";
import type { ApiEnv } from "../env.ts";
import { NotFoundError } from "../errors.ts";
import { listPage, type ListPageOptions } from "./pagination.ts";
import { audit } from "./tenant.ts";

/** How the routes read and write one table. */
export interface TableSpec<Row extends { id: string }, Json> {
  /** The table; statements alias it `t`. */
  table: string;
  /** The audit log's `resource_type`, also the prefix of its actions (`badge.update`). */
  type: string;
  /** What a not-found problem calls a row: "Knowledge base 5f0… does not exist". */
  name: string;
  /** The select list of a `Row`; may use the alias `t`. */
  columns: string;
  /** The columns `update()` may set. */
  updatable?: readonly string[];
  /** A row as its API representation, for `list()`. */
  toJson: (row: Row) => Json;
}

/** The list envelope of every list response. */
export interface PageJson<Json> {
  data: Json[];
  next_cursor: string | null;
}

/** Statements on one tenant table; see `tenantTable()`. */
export interface TenantTable<Row extends { id: string }, Json> {
  /** A row as its API representation. */
  toJson: (row: Row) => Json;
  /** A page of rows, newest first, as `{ data, next_cursor }`. */
  list(client: pg.PoolClient, options: Omit<ListPageOptions, "from" | "columns">): Promise<
    PageJson<Json>
  >;
  /**
   * The row `id`; `lock` selects it `for update`.
   * @throws NotFoundError
   */
  find(client: pg.PoolClient, id: string, options?: { lock?: boolean }): Promise<Row>;
  /**
   * Checks that the row `id` exists without reading it.
   * @throws NotFoundError
   */
  mustExist(client: pg.PoolClient, id: string): Promise<void>;
  /** Inserts a row of the calling creator from column values; audited as `<type>.create`. */
  create(
    client: pg.PoolClient,
    c: Context<ApiEnv>,
    options: { values: Record<string, unknown>; details?: Record<string, unknown> },
  ): Promise<Row>;
  /**
   * Sets the columns of `set` that are not undefined, and `updated_at`; audited as
   * `<type>.update` with `details` (by default the names of the columns set).
   * @throws NotFoundError
   */
  update(
    client: pg.PoolClient,
    c: Context<ApiEnv>,
    options: { id: string; set: Record<string, unknown>; details?: Record<string, unknown> },
  ): Promise<Row>;
  /**
   * Deletes the row `id` (its children go by `on delete cascade`); audited as `<type>.delete`.
   * @returns the deleted row
   * @throws NotFoundError
   */
  remove(
    client: pg.PoolClient,
    c: Context<ApiEnv>,
    options: { id: string; details?: Record<string, unknown> },
  ): Promise<Row>;
}

/**
 * The shared CRUD statements for `spec`'s table. Row-level security limits every one of them to
 * the creator of the transaction's client.
 */
export function tenantTable<Row extends { id: string }, Json>(
  spec: TableSpec<Row, Json>,
): TenantTable<Row, Json> {
  const { table, type, name, columns } = spec;
  const updatable = new Set(spec.updatable ?? []);
  const found = (row: Row | undefined, id: string): Row => {
    if (!row) throw new NotFoundError(name, id);
    return row;
  };
  return {
    toJson: spec.toJson,

    async list(client, options) {
      const page = await listPage<Row & Record<string, unknown>>(client, {
        ...options,
        from: table,
        columns,
      });
      return { data: page.rows.map(spec.toJson), next_cursor: page.nextCursor };
    },

    async find(client, id, { lock = false } = {}) {
      const { rows: [row] } = await client.query<Row>(
        `select ${columns} from ${table} t where t.id = $1${lock ? " for update" : ""}`,
        [id],
      );
      return found(row, id);
    },

    async mustExist(client, id) {
      const { rowCount } = await client.query(`select 1 from ${table} where id = $1`, [id]);
      if (!rowCount) throw new NotFoundError(name, id);
    },

    async create(client, c, { values, details = {} }) {
      const names = Object.keys(values);
      const { rows: [row] } = await client.query<Row>(
        `insert into ${table} as t (creator_id, ${names.join(", ")})
         values (app_creator_id(), ${names.map((_, i) => `$${i + 1}`).join(", ")})
         returning ${columns}`,
        Object.values(values),
      );
      await audit(client, c, `${type}.create`, { type, id: row!.id }, details);
      return row!;
    },

    async update(client, c, { id, set, details }) {
      const changed = Object.entries(set).filter(([, value]) => value !== undefined);
      const sets = changed.map(([column], i) => {
        if (!updatable.has(column)) throw new TypeError(`${table}.${column} is not updatable`);
        return `${column} = $${i + 2}`;
      });
      const { rows: [row] } = await client.query<Row>(
        `update ${table} t set ${[...sets, "updated_at = now()"].join(", ")} where t.id = $1
         returning ${columns}`,
        [id, ...changed.map(([, value]) => value)],
      );
      const updated = found(row, id);
      const fields = changed.map(([column]) => column);
      await audit(client, c, `${type}.update`, { type, id }, details ?? { fields });
      return updated;
    },

    async remove(client, c, { id, details = {} }) {
      const { rows: [row] } = await client.query<Row>(
        `delete from ${table} t where t.id = $1 returning ${columns}`,
        [id],
      );
      const deleted = found(row, id);
      await audit(client, c, `${type}.delete`, { type, id }, details);
      return deleted;
    },
  };
}
