/**
 * The creator's backend signs its own users in to the mobile app: it exchanges one of its end
 * users (by Coachd id, or by its own user id) for an end-user token pair, server to server with
 * an API key, and can sign that person out of every device.
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { ConflictError, NotFoundError } from "../errors.ts";
import type { EndUserTokens } from "../../channels/mobile/tokens.ts";
import {
  ensureExternalUser,
  ensureUserIdentity,
  mobileConnectionOf,
} from "../../channels/mobile/identities.ts";
import { jsonBody, jsonResponse, protectedRoute, uuidParam, WRITERS } from "../lib/route.ts";
import { audit, inTenant } from "../lib/tenant.ts";

export const TokenPair = z.object({
  token_id: z.uuid(),
  access_token: z.string().openapi({ description: "Bearer token of the app API (/v1/app)" }),
  refresh_token: z.string().openapi({ description: "Trade it at /v1/app/tokens/refresh" }),
  token_type: z.literal("Bearer"),
  expires_in: z.number().int(),
  end_user_id: z.uuid(),
}).openapi("EndUserTokens");

const tags = ["end user tokens"];

function noConnection(): never {
  throw new ConflictError(
    "Connect the mobile app channel first (POST /v1/channels with kind mobile_app)",
  );
}

export function endUserTokenRoutes(tokens: EndUserTokens) {
  return (app: OpenAPIHono<ApiEnv>) => {
    app.openapi(
      protectedRoute(WRITERS, {
        method: "post",
        path: "/end-users/{endUserId}/tokens",
        tags,
        summary: "Issue an app token pair for one of your end users",
        request: { params: uuidParam("endUserId") },
        responses: {
          201: jsonResponse(TokenPair, "Issued"),
          409: { description: "No mobile app channel is connected" },
        },
      }),
      async (c) => {
        const { endUserId } = c.req.valid("param");
        const pair = await inTenant(c, async (tx) => {
          const known = await tx.query("select 1 from end_users where id = $1", [endUserId]);
          if (!known.rowCount) throw new NotFoundError("End user", endUserId);
          const connectionId = await mobileConnectionOf(tx) ?? noConnection();
          const who = await ensureUserIdentity(tx, { endUserId, connectionId });
          const issued = await tokens.issue(tx, { ...who, origin: "exchange" });
          await audit(tx, c, "end_user.token_issue", { type: "end_user", id: endUserId });
          return issued;
        });
        return c.json(pair, 201);
      },
    );

    app.openapi(
      protectedRoute(WRITERS, {
        method: "post",
        path: "/end-user-tokens",
        tags,
        summary: "Issue an app token pair for your own user id (the end user is made on first use)",
        request: {
          body: jsonBody(z.strictObject({
            external_id: z.string().min(1).max(200).openapi({ description: "Your user's id" }),
            display_name: z.string().max(200).default(""),
          })),
        },
        responses: {
          201: jsonResponse(TokenPair, "Issued"),
          409: { description: "No mobile app channel is connected" },
        },
      }),
      async (c) => {
        const body = c.req.valid("json");
        const pair = await inTenant(c, async (tx) => {
          const connectionId = await mobileConnectionOf(tx) ?? noConnection();
          const { endUserId } = await ensureExternalUser(tx, {
            externalId: body.external_id,
            displayName: body.display_name,
            connectionId,
          });
          const who = await ensureUserIdentity(tx, { endUserId, connectionId });
          const issued = await tokens.issue(tx, { ...who, origin: "exchange" });
          await audit(tx, c, "end_user.token_issue", { type: "end_user", id: endUserId });
          return issued;
        });
        return c.json(pair, 201);
      },
    );

    app.openapi(
      protectedRoute(WRITERS, {
        method: "delete",
        path: "/end-users/{endUserId}/tokens",
        tags,
        summary: "Sign an end user out of every app and device (effective at once)",
        request: { params: uuidParam("endUserId") },
        responses: { 200: jsonResponse(z.object({ revoked: z.number().int() }), "Revoked") },
      }),
      async (c) => {
        const { endUserId } = c.req.valid("param");
        const revoked = await inTenant(c, async (tx) => {
          const known = await tx.query("select 1 from end_users where id = $1", [endUserId]);
          if (!known.rowCount) throw new NotFoundError("End user", endUserId);
          const n = await tokens.revokeAll(tx, endUserId);
          await audit(tx, c, "end_user.token_revoke", { type: "end_user", id: endUserId });
          return n;
        });
        return c.json({ revoked }, 200);
      },
    );
  };
}
