/**
 * Push registrations of the person's devices: an FCM registration token (Android), an APNs
 * device token (iOS) or a Web Push subscription (the widget, an installed web app). Stored
 * sealed; listed by a hint only.
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { PushTokenStore } from "../../channels/push/store.ts";
import { WebPushSubscription } from "../../channels/push/webpush.ts";
import { NotFoundError, ValidationError } from "../errors.ts";
import { iso } from "../lib/pagination.ts";
import { errorResponses, jsonBody, jsonResponse, uuidParam } from "../lib/route.ts";
import type { AppEnv } from "./app_auth.ts";

const tags = ["app"];

const Registration = z.discriminatedUnion("provider", [
  z.strictObject({ provider: z.literal("fcm"), token: z.string().min(20).max(4096) }),
  z.strictObject({
    provider: z.literal("apns"),
    token: z.string().regex(/^[0-9a-fA-F]{16,200}$/, "the device token in hex"),
  }),
  z.strictObject({ provider: z.literal("webpush"), subscription: WebPushSubscription }),
]).openapi("PushRegistration");

const PushToken = z.object({
  id: z.uuid(),
  provider: z.enum(["fcm", "apns", "webpush"]),
  hint: z.string(),
  created_at: z.string(),
}).openapi("PushToken");

export function registerAppDevices(
  app: OpenAPIHono<AppEnv>,
  o: { store: PushTokenStore; providers: () => string[]; auth: MiddlewareHandler<AppEnv> },
) {
  const secured = { middleware: [o.auth], security: [{ bearerAuth: [] }], tags };
  app.openapi(
    createRoute({
      ...secured,
      method: "post",
      path: "/push-tokens",
      summary: "Register this device for push notifications",
      request: { body: jsonBody(Registration) },
      responses: { ...errorResponses, 201: jsonResponse(PushToken, "Registered") },
    }),
    async (c) => {
      const s = c.get("endUser");
      const body = c.req.valid("json");
      if (!o.providers().includes(body.provider)) {
        throw new ValidationError(`This server has no ${body.provider} credentials configured`, [
          { field: "body.provider", message: `not configured: ${o.providers().join(", ")}` },
        ]);
      }
      const token = body.provider === "webpush" ? JSON.stringify(body.subscription) : body.token;
      const hint = body.provider === "webpush"
        ? new URL(body.subscription.endpoint).host
        : `…${body.token.slice(-6)}`;
      const id = await o.store.register(s.creatorId, {
        endUserId: s.endUserId,
        provider: body.provider,
        token,
        hint,
      });
      return c.json({
        id,
        provider: body.provider,
        hint,
        created_at: new Date().toISOString(),
      }, 201);
    },
  );

  app.openapi(
    createRoute({
      ...secured,
      method: "get",
      path: "/push-tokens",
      summary: "The person's registered devices",
      responses: {
        ...errorResponses,
        200: jsonResponse(z.object({ data: z.array(PushToken) }), "Devices"),
      },
    }),
    async (c) => {
      const s = c.get("endUser");
      const rows = await o.store.list(s.creatorId, s.endUserId);
      return c.json({
        data: rows.map((r) => ({ ...r, created_at: iso(r.created_at)! })),
      }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...secured,
      method: "delete",
      path: "/push-tokens/{pushTokenId}",
      summary: "Stop pushing to a device",
      request: { params: uuidParam("pushTokenId") },
      responses: { ...errorResponses, 204: { description: "Removed" } },
    }),
    async (c) => {
      const s = c.get("endUser");
      const { pushTokenId } = c.req.valid("param");
      if (!await o.store.remove(s.creatorId, s.endUserId, pushTokenId)) {
        throw new NotFoundError("Push token", pushTokenId);
      }
      return c.body(null, 204);
    },
  );
}
