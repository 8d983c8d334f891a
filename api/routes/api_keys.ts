import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { randomToken, sha256Hex } from "../auth/credentials.ts";
import type { ApiEnv } from "../env.ts";
import { NotFoundError } from "../errors.ts";
import { API_KEY_PREFIX } from "../middleware/auth.ts";
import { tenantTable } from "../lib/crud.ts";
import { iso } from "../lib/pagination.ts";
import { resourceRoutes } from "../lib/resource.ts";
import { ADMINS } from "../lib/route.ts";
import { audit } from "../lib/tenant.ts";

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
const apiKeys = tenantTable({
  table: "api_keys",
  type: "api_key",
  name: "API key",
  columns: COLUMNS,
  toJson,
});

/** API keys for server-to-server use: create (shown once), list, revoke. */
export function registerApiKeys(app: OpenAPIHono<ApiEnv>) {
  resourceRoutes(app, {
    table: apiKeys,
    tags: ["api keys"],
    schema: ApiKey,
    path: "/api-keys",
    idParam: "apiKeyId",
    list: {
      roles: ADMINS,
      summary: "List API keys (never the keys themselves)",
      description: "A page of keys",
    },
    create: {
      roles: ADMINS,
      summary: "Create an API key; the response is the only time the key is shown",
      body: z.strictObject({ name: z.string().min(1).max(200), role: KeyRole }),
      schema: NewApiKey,
      location: false,
      prepare: async (c, body) => {
        const key = randomToken(`${API_KEY_PREFIX}live_`);
        return { ...body, key, keySha256: await sha256Hex(key), createdBy: c.get("auth").subject };
      },
      values: (body) => ({
        name: body.name,
        prefix: body.key.slice(0, 12),
        key_sha256: body.keySha256,
        role: body.role,
        created_by: body.createdBy,
      }),
      details: (body) => ({ role: body.role }),
      respond: (row, { key }) => ({ ...toJson(row), key }),
    },
    delete: {
      roles: ADMINS,
      summary: "Revoke an API key",
      description: "Revoked",
      run: async (client, c, apiKeyId) => {
        const res = await client.query(
          "update api_keys set revoked_at = coalesce(revoked_at, now()) where id = $1",
          [apiKeyId],
        );
        if (!res.rowCount) throw new NotFoundError("API key", apiKeyId);
        await audit(client, c, "api_key.revoke", { type: "api_key", id: apiKeyId });
      },
    },
  });
}
