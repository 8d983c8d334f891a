/** Third-party apps a creator registers for OAuth (the secret is shown once, kept as a hash). */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { randomToken, sha256Hex } from "../auth/credentials.ts";
import type { ApiEnv } from "../env.ts";
import { NotFoundError } from "../errors.ts";
import { iso } from "../lib/pagination.ts";
import { ADMINS, jsonBody, jsonResponse, protectedRoute, uuidParam } from "../lib/route.ts";
import { audit, inTenant } from "../lib/tenant.ts";

const tags = ["oauth"];
const Client = z.object({
  id: z.uuid(),
  name: z.string(),
  redirect_uris: z.array(z.string()),
  created_at: z.string(),
}).openapi("OAuthClient");
const RedirectUri = z.url().max(2000).refine(
  (u) => u.startsWith("https://") || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(u),
  "must be https (or http on loopback, for native apps)",
);
interface Row {
  id: string;
  name: string;
  redirect_uris: string[];
  created_at: Date;
}
const json = (r: Row) => ({ ...r, created_at: iso(r.created_at)! });

export function registerOAuthClients(app: OpenAPIHono<ApiEnv>) {
  app.openapi(
    protectedRoute(ADMINS, {
      method: "post",
      path: "/oauth/clients",
      tags,
      summary: "Register a third-party app; its client secret is shown once",
      request: {
        body: jsonBody(z.strictObject({
          name: z.string().min(1).max(200),
          redirect_uris: z.array(RedirectUri).min(1).max(10),
        })),
      },
      responses: {
        201: jsonResponse(Client.extend({ client_secret: z.string() }), "Registered"),
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const secret = randomToken("cos_");
      const row = await inTenant(c, async (client) => {
        const { rows: [r] } = await client.query<Row>(
          `insert into oauth_clients (creator_id, name, redirect_uris, secret_sha256)
           values (app_creator_id(), $1, $2, $3) returning id, name, redirect_uris, created_at`,
          [body.name, body.redirect_uris, await sha256Hex(secret)],
        );
        await audit(client, c, "oauth_client.create", { type: "oauth_client", id: r!.id });
        return r!;
      });
      return c.json({ ...json(row), client_secret: secret }, 201);
    },
  );
  app.openapi(
    protectedRoute(ADMINS, {
      method: "get",
      path: "/oauth/clients",
      tags,
      summary: "List the registered apps",
      responses: { 200: jsonResponse(z.object({ data: z.array(Client) }), "Apps") },
    }),
    async (c) => {
      const rows = await inTenant(c, async (client) =>
        (await client.query<Row>(
          "select id, name, redirect_uris, created_at from oauth_clients order by created_at limit 200",
        )).rows);
      return c.json({ data: rows.map(json) }, 200);
    },
  );
  app.openapi(
    protectedRoute(ADMINS, {
      method: "delete",
      path: "/oauth/clients/{clientId}",
      tags,
      summary: "Remove an app; its codes and tokens end",
      request: { params: uuidParam("clientId") },
      responses: { 204: { description: "Removed" } },
    }),
    async (c) => {
      const { clientId } = c.req.valid("param");
      const gone = await inTenant(c, async (client) => {
        const { rowCount } = await client.query("delete from oauth_clients where id = $1", [
          clientId,
        ]);
        if (rowCount) {
          await audit(client, c, "oauth_client.delete", { type: "oauth_client", id: clientId });
        }
        return rowCount === 1;
      });
      if (!gone) throw new NotFoundError("OAuth client", clientId);
      return c.body(null, 204);
    },
  );
}
