/**
 * The creator's Google Analytics 4 property for widget events (docs/business.md, "GA4"): set,
 * read (without the secret) and remove. Events are sent only when the node enables GA4.
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { ga4Context } from "../../business/mod.ts";
import type { ApiEnv } from "../env.ts";
import { ADMINS, ALL_ROLES, jsonBody, jsonResponse, protectedRoute } from "../lib/route.ts";
import { audit, inTenant } from "../lib/tenant.ts";

const tags = ["analytics"];
const Settings = z.object({
  measurement_id: z.string().nullable(),
  updated_at: z.string().nullable(),
})
  .openapi("Ga4Settings");

export function registerGa4(app: OpenAPIHono<ApiEnv>) {
  app.openapi(
    protectedRoute(ADMINS, {
      method: "put",
      path: "/analytics/ga4",
      tags,
      summary: "Send widget events to this GA4 property (Measurement Protocol)",
      request: {
        body: jsonBody(z.strictObject({
          measurement_id: z.string().regex(/^G-[A-Z0-9]{4,20}$/, "like G-XXXXXXX"),
          api_secret: z.string().min(8).max(200),
        })),
      },
      responses: { 200: jsonResponse(Settings, "Stored") },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const creatorId = c.get("auth").creatorId;
      const sealed = await c.get("services").secrets.seal(body.api_secret, ga4Context(creatorId));
      const row = await inTenant(c, async (client) => {
        const { rows: [r] } = await client.query<{ measurement_id: string; updated_at: Date }>(
          `insert into ga4_settings (creator_id, measurement_id, secret_iv, secret_ciphertext)
           values (app_creator_id(), $1, $2, $3)
           on conflict (creator_id) do update set measurement_id = excluded.measurement_id,
             secret_iv = excluded.secret_iv, secret_ciphertext = excluded.secret_ciphertext,
             updated_at = now()
           returning measurement_id, updated_at`,
          [body.measurement_id, sealed.iv, sealed.ciphertext],
        );
        await audit(client, c, "ga4.configure", { type: "ga4", id: body.measurement_id });
        return r!;
      });
      return c.json({ ...row, updated_at: row.updated_at.toISOString() }, 200);
    },
  );
  app.openapi(
    protectedRoute(ALL_ROLES, {
      method: "get",
      path: "/analytics/ga4",
      tags,
      summary: "The configured GA4 property (the API secret is never returned)",
      responses: { 200: jsonResponse(Settings, "The settings") },
    }),
    async (c) => {
      const row = await inTenant(
        c,
        async (client) =>
          (await client.query<{ measurement_id: string; updated_at: Date }>(
            "select measurement_id, updated_at from ga4_settings",
          )).rows[0],
      );
      // Not configured: nothing is sent.
      if (!row) return c.json({ measurement_id: null, updated_at: null }, 200);
      return c.json({ ...row, updated_at: row.updated_at.toISOString() }, 200);
    },
  );
  app.openapi(
    protectedRoute(ADMINS, {
      method: "delete",
      path: "/analytics/ga4",
      tags,
      summary: "Stop sending widget events to GA4",
      responses: { 204: { description: "Removed" } },
    }),
    async (c) => {
      await inTenant(c, async (client) => {
        await client.query("delete from ga4_settings");
        await audit(client, c, "ga4.remove", { type: "ga4" });
      });
      return c.body(null, 204);
    },
  );
}
