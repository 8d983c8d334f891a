/**
 * Signing in to the app without the creator's backend: an anonymous device registers with the
 * app's public key (the mobile app connection's) and gets a token pair; refresh and sign-out.
 */
import { z } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { withTenant } from "../../db/tenant.ts";
import { connectionByPublicKey, registerDevice } from "../../channels/mobile/identities.ts";
import type { EndUserTokens } from "../../channels/mobile/tokens.ts";
import { UnauthorizedError, ValidationError } from "../errors.ts";
import { errorResponses, jsonBody, jsonResponse } from "../lib/route.ts";
import type { AppEnv } from "./app_auth.ts";
import { TokenPair } from "./end_user_tokens.ts";

const tags = ["app"];

export function registerAppSessions(
  app: OpenAPIHono<AppEnv>,
  o: { tokens: EndUserTokens; perIp: MiddlewareHandler; auth: MiddlewareHandler<AppEnv> },
) {
  app.openapi(
    createRoute({
      method: "post",
      path: "/devices",
      tags,
      summary: "Register an anonymous device with the app's public key; returns its tokens",
      middleware: [o.perIp],
      request: {
        body: jsonBody(z.strictObject({
          public_key: z.string().min(1).max(200).openapi({
            description: "The mobile app channel's public key",
          }),
          display_name: z.string().max(200).default(""),
          locale: z.string().max(35).optional(),
        })),
      },
      responses: { ...errorResponses, 201: jsonResponse(TokenPair, "Registered") },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const conn = await connectionByPublicKey(c.get("services").pool, body.public_key);
      if (!conn) {
        throw new ValidationError("No active mobile app has this public key", [
          { field: "body.public_key", message: "unknown or disabled" },
        ]);
      }
      const pair = await withTenant(c.get("services").pool, conn.creatorId, async (tx) => {
        const who = await registerDevice(tx, {
          connectionId: conn.id,
          displayName: body.display_name,
          locale: body.locale,
        });
        return await o.tokens.issue(tx, { ...who, origin: "device" });
      });
      return c.json(pair, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/tokens/refresh",
      tags,
      summary: "Trade a refresh token for a new pair (the old pair stops working)",
      middleware: [o.perIp],
      request: { body: jsonBody(z.strictObject({ refresh_token: z.string().min(1).max(200) })) },
      responses: { ...errorResponses, 200: jsonResponse(TokenPair, "Refreshed") },
    }),
    async (c) => {
      const pair = await o.tokens.refresh(c.req.valid("json").refresh_token);
      if (!pair) throw new UnauthorizedError("The refresh token is invalid, expired or revoked");
      return c.json(pair, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/tokens/current",
      tags,
      summary: "Sign this app out: its tokens stop working at once",
      middleware: [o.auth],
      security: [{ bearerAuth: [] }],
      responses: { ...errorResponses, 204: { description: "Signed out" } },
    }),
    async (c) => {
      const s = c.get("endUser");
      await o.tokens.revoke(s.creatorId, s.tokenId);
      return c.body(null, 204);
    },
  );
}
