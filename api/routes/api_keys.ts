import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { randomToken, sha256Hex } from "../auth/credentials.ts";
import type { ApiEnv } from "../env.ts";
import { NotFoundError } from "../errors.ts";
import { API_KEY_PREFIX } from "../middleware/auth.ts";
import { iso, listPage, pageOf, PageQuery } from "../lib/pagination.ts";
import { ADMINS, jsonBody, jsonResponse, protectedRoute, uuidParam } from "../lib/route.ts";
import { audit, inTenant } from "../lib/tenant.ts";

const KeyRole = z.enum(["admin", "editor", "viewer"]);
const ApiKey = z.object({
  id: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  role: KeyRole,
  last_used_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
  created_at: z.string(),
}).openapi("ApiKey");
const NewApiKey = ApiKey.extend({
  key: z.string().openapi({ description: "The secret key. Shown once; store it now." }),
}).openapi("NewApiKey");

interface Row {
  id: string;
  name: string;
  prefix: string;
  role: z.infer<typeof KeyRole>;
  last_used_at: Date | null;
  revoked_at: Date | null;
  created_at: Date;
}
const toJson = (r: Row) => ({
  id: r.id,
  name: r.name,
  prefix: r.prefix,
  role: r.role,
  last_used_at: iso(r.last_used_at),
  revoked_at: iso(r.revoked_at),
  created_at: iso(r.created_at)!,
});
const COLUMNS = "id, name, prefix, role, last_used_at, revoked_at, created_at";
const tags = ["api keys"];

/** API keys for server-to-server use: create (shown once), list, revoke. */
export function registerApiKeys(app: OpenAPIHono<ApiEnv>) {
  app.openapi(
    protectedRoute(ADMINS, {
      method: "get",
      path: "/api-keys",
      tags,
      summary: "List API keys (never the keys themselves)",
      request: { query: PageQuery },
      responses: { 200: jsonResponse(pageOf(ApiKey), "A page of keys") },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const page = await inTenant(c, (client) =>
        listPage<Row & Record<string, unknown>>(client, {
          from: "api_keys",
          columns: COLUMNS.split(", ").map((col) => `t.${col}`).join(", "),
          limit: q.limit,
          cursor: q.cursor,
        }));
      return c.json({ data: page.rows.map(toJson), next_cursor: page.nextCursor }, 200);
    },
  );

  app.openapi(
    protectedRoute(ADMINS, {
      method: "post",
      path: "/api-keys",
      tags,
      summary: "Create an API key; the response is the only time the key is shown",
      request: {
        body: jsonBody(z.strictObject({ name: z.string().min(1).max(200), role: KeyRole })),
      },
      responses: { 201: jsonResponse(NewApiKey, "Created") },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const key = randomToken(`${API_KEY_PREFIX}live_`);
      const row = await inTenant(c, async (client) => {
        const { rows: [k] } = await client.query<Row>(
          `insert into api_keys (creator_id, name, prefix, key_sha256, role, created_by)
           values (app_creator_id(), $1, $2, $3, $4, $5) returning ${COLUMNS}`,
          [body.name, key.slice(0, 12), await sha256Hex(key), body.role, c.get("auth").subject],
        );
        await audit(client, c, "api_key.create", { type: "api_key", id: k!.id }, {
          role: body.role,
        });
        return k!;
      });
      return c.json({ ...toJson(row), key }, 201);
    },
  );

  app.openapi(
    protectedRoute(ADMINS, {
      method: "delete",
      path: "/api-keys/{apiKeyId}",
      tags,
      summary: "Revoke an API key",
      request: { params: uuidParam("apiKeyId") },
      responses: { 204: { description: "Revoked" } },
    }),
    async (c) => {
      const { apiKeyId } = c.req.valid("param");
      const found = await inTenant(c, async (client) => {
        const res = await client.query(
          "update api_keys set revoked_at = coalesce(revoked_at, now()) where id = $1",
          [apiKeyId],
        );
        if (res.rowCount) {
          await audit(client, c, "api_key.revoke", { type: "api_key", id: apiKeyId });
        }
        return res.rowCount === 1;
      });
      if (!found) throw new NotFoundError("API key", apiKeyId);
      return c.body(null, 204);
    },
  );
}
