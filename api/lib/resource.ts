/**
 * Declares a resource's list, create, get, patch and delete routes from one spec: the OpenAPI
 * operation (tags, summary, path and query parameters, body, the item schema, roles as `x-roles`,
 * the shared problem responses), the tenant transaction, pagination, the `Location` header and
 * the audited statements of `tenantTable()`. A resource file then holds only what is its own:
 * schemas, filters, the values it writes and the checks or messages that go with a change. An
 * operation whose work differs replaces the default statement with `run`, in the same
 * transaction; `afterCommit` runs once the transaction has committed.
 * @module
 */
import { type OpenAPIHono, type RouteConfig, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type pg from "pg";
import type { Role } from "../auth/credentials.ts";
import type { ApiEnv } from "../env.ts";
import type { TenantTable } from "./crud.ts";
import { type ListPageOptions, pageOf, PageQuery } from "./pagination.ts";
import { jsonBody, jsonResponse, protectedRoute, uuidParam } from "./route.ts";
import { inTenant } from "./tenant.ts";

type Ctx = Context<ApiEnv>;
type Values = Record<string, unknown>;
type Filter = Pick<ListPageOptions, "where" | "params" | "equal">;

interface Operation {
  roles: Role[];
  summary: string;
  /** The success response's description. */
  description?: string;
  /** Responses beside the success and the shared problems (e.g. 413 for an upload). */
  responses?: RouteConfig["responses"];
}

export interface ListOperation extends Operation {
  /** Filters beside `limit` and `cursor`. */
  query?: z.ZodRawShape;
  /** The conditions the filters give. */
  filter?: (query: Values) => Filter;
}

export interface GetOperation extends Operation {
  /** A representation other than the list's item. */
  schema?: z.ZodType;
  /** Reads what the response holds instead of the row. */
  run?: (client: pg.PoolClient, c: Ctx, id: string) => Promise<unknown>;
}

export interface CreateOperation<Row, Input, Prepared> extends Operation {
  /** A JSON body; `form` for a multipart one. */
  body?: z.ZodType<Input>;
  form?: z.ZodType<Input>;
  /** 201 unless the resource is only queued (202). */
  status?: 201 | 202;
  schema?: z.ZodType;
  /** Sends `Location: /v1<item path>` (default true). */
  location?: boolean;
  /** Work before the transaction (hashing, reading an upload, making secrets). */
  prepare?: (c: Ctx, input: Input) => Promise<Prepared> | Prepared;
  /** The row's columns, for the default audited insert. */
  values?: (input: Prepared, parentId: string | undefined) => Values;
  details?: (input: Prepared, parentId: string | undefined) => Values;
  /** Checks in the transaction before the insert. */
  check?: (client: pg.PoolClient, input: Prepared) => Promise<void>;
  /** Replaces the default insert. */
  run?: (client: pg.PoolClient, c: Ctx, input: Prepared) => Promise<Row>;
  afterCommit?: (c: Ctx, row: Row) => Promise<Row>;
  /** The response body; by default the item's representation. */
  respond?: (row: Row, input: Prepared) => unknown;
}

export interface PatchOperation<Row, Patch> extends Operation {
  body: z.ZodType<Patch>;
  /** The columns to set; by default the patch itself. */
  set?: (patch: Patch) => Values;
  details?: (patch: Patch) => Values;
  check?: (client: pg.PoolClient, patch: Patch) => Promise<void>;
  run?: (client: pg.PoolClient, c: Ctx, id: string, patch: Patch) => Promise<Row>;
  afterCommit?: (c: Ctx, row: Row) => Promise<void>;
}

export interface DeleteOperation<Removed> extends Operation {
  /** Checks in the transaction before the delete (it may lock the row). */
  check?: (client: pg.PoolClient, id: string) => Promise<void>;
  /** Replaces the default audited delete. */
  run?: (client: pg.PoolClient, c: Ctx, id: string) => Promise<Removed>;
  afterCommit?: (c: Ctx, id: string, removed: Removed) => Promise<void>;
}

export interface ResourceSpec<Row extends { id: string }, Json, Input, Prepared, Patch, Removed> {
  table: TenantTable<Row, Json>;
  tags: string[];
  /** The item's representation (registered as a named schema). */
  schema: z.ZodType;
  /** Where the collection is: `/badges`, `/knowledge-bases/{knowledgeBaseId}/documents`. */
  path: string;
  /** The item's path parameter. */
  idParam: string;
  /** Where an item is, when not under `path`: `/documents/{documentId}`. */
  itemPath?: string;
  /** A collection under a parent: list and create check that the parent exists. */
  parent?: { param: string; table: Pick<TenantTable<{ id: string }, unknown>, "mustExist"> };
  /** The column that holds the parent's id (for lists under a parent). */
  parentColumn?: string;
  list?: ListOperation;
  create?: CreateOperation<Row, Input, Prepared>;
  get?: GetOperation;
  patch?: PatchOperation<Row, Patch>;
  delete?: DeleteOperation<Removed>;
}

type AnyHandler = Parameters<OpenAPIHono<ApiEnv>["openapi"]>[1];

/** Registers the routes `spec` declares, in the order list, create, get, patch, delete. */
export function resourceRoutes<
  Row extends { id: string },
  Json,
  Input = never,
  Prepared = Input,
  Patch = never,
  Removed = Row,
>(app: OpenAPIHono<ApiEnv>, spec: ResourceSpec<Row, Json, Input, Prepared, Patch, Removed>): void {
  const { table, tags, schema, path, idParam, parent } = spec;
  const itemPath = spec.itemPath ?? `${path}/{${idParam}}`;
  const Id = uuidParam(idParam);
  const ParentId = parent ? uuidParam(parent.param) : undefined;
  const idOf = (c: Ctx) => (c.req.valid as (t: "param") => Record<string, string>)("param");
  const parentOf = async (client: pg.PoolClient, c: Ctx) => {
    if (!parent) return undefined;
    const parentId = idOf(c)[parent.param]!;
    await parent.table.mustExist(client, parentId);
    return parentId;
  };
  const valid = (c: Ctx, target: "json" | "form" | "query") =>
    (c.req.valid as (t: string) => unknown)(target);
  // The routes are built from the spec at run time, so Hono cannot infer their response types as
  // it does for a hand-written route; the response-validation middleware checks the bodies.
  const declare = (
    op: Operation,
    method: RouteConfig["method"],
    at: string,
    request: RouteConfig["request"],
    responses: RouteConfig["responses"],
    handler: (c: Ctx) => unknown,
  ) =>
    app.openapi(
      protectedRoute(op.roles, { method, path: at, tags, summary: op.summary, request, responses }),
      handler as unknown as AnyHandler,
    );

  const list = spec.list;
  if (list) {
    const query = list.query ? PageQuery.extend(list.query) : PageQuery;
    declare(list, "get", path, ParentId ? { params: ParentId, query } : { query }, {
      200: jsonResponse(pageOf(schema), list.description ?? "A page"),
    }, async (c) => {
      const q = valid(c, "query") as Values & { limit: number; cursor?: string };
      const page = await inTenant(c, async (client) => {
        const parentId = await parentOf(client, c);
        const filter = list.filter?.(q) ?? {};
        const equal = parent && spec.parentColumn
          ? { [spec.parentColumn]: parentId, ...filter.equal }
          : filter.equal;
        return await table.list(client, { ...filter, equal, limit: q.limit, cursor: q.cursor });
      });
      return c.json(page, 200);
    });
  }

  const create = spec.create;
  if (create) {
    const status = create.status ?? 201;
    const body = create.form
      ? { required: true, content: { "multipart/form-data": { schema: create.form } } }
      : jsonBody(create.body!);
    declare(create, "post", path, ParentId ? { params: ParentId, body } : { body }, {
      [status]: jsonResponse(create.schema ?? schema, create.description ?? "Created"),
      ...create.responses,
    }, async (c) => {
      const input = valid(c, create.form ? "form" : "json") as Input;
      const prepared = create.prepare
        ? await create.prepare(c, input)
        : input as unknown as Prepared;
      let row = await inTenant(c, async (client) => {
        const parentId = await parentOf(client, c);
        await create.check?.(client, prepared);
        if (create.run) return await create.run(client, c, prepared);
        return await table.create(client, c, {
          values: create.values!(prepared, parentId),
          details: create.details?.(prepared, parentId),
        });
      });
      if (create.location ?? true) {
        c.header("location", `/v1${itemPath.replace(`{${idParam}}`, row.id)}`);
      }
      if (create.afterCommit) row = await create.afterCommit(c, row);
      const json = create.respond ? create.respond(row, prepared) : table.toJson(row);
      return c.json(json, status);
    });
  }

  const get = spec.get;
  if (get) {
    declare(get, "get", itemPath, { params: Id }, {
      200: jsonResponse(get.schema ?? schema, get.description ?? "The item"),
    }, async (c) => {
      const id = idOf(c)[idParam]!;
      const json = await inTenant(
        c,
        async (client) =>
          get.run ? await get.run(client, c, id) : table.toJson(await table.find(client, id)),
      );
      return c.json(json, 200);
    });
  }

  const patch = spec.patch;
  if (patch) {
    declare(patch, "patch", itemPath, { params: Id, body: jsonBody(patch.body) }, {
      200: jsonResponse(schema, patch.description ?? "Updated"),
    }, async (c) => {
      const id = idOf(c)[idParam]!;
      const changes = valid(c, "json") as Patch;
      const row = await inTenant(c, async (client) => {
        await patch.check?.(client, changes);
        if (patch.run) return await patch.run(client, c, id, changes);
        return await table.update(client, c, {
          id,
          set: patch.set ? patch.set(changes) : changes as Values,
          details: patch.details?.(changes),
        });
      });
      await patch.afterCommit?.(c, row);
      return c.json(table.toJson(row), 200);
    });
  }

  const remove = spec.delete;
  if (remove) {
    declare(remove, "delete", itemPath, { params: Id }, {
      204: { description: remove.description ?? "Deleted" },
    }, async (c) => {
      const id = idOf(c)[idParam]!;
      const removed = await inTenant(c, async (client) => {
        await remove.check?.(client, id);
        if (remove.run) return await remove.run(client, c, id);
        return await table.remove(client, c, { id }) as unknown as Removed;
      });
      await remove.afterCommit?.(c, id, removed);
      return c.body(null, 204);
    });
  }
}
