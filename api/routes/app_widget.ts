/**
 * What a widget visitor's page asks of the person side beside the chat: a link code (to carry
 * the conversation to Telegram or WhatsApp) and a Web Push subscription (so the coach's answer
 * reaches them when the page is closed). Same rules as the widget's REST: the widget's public
 * `key` in the query, an allowed `Origin`, the visitor's signed session `token` in the JSON body.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type pg from "pg";
import { z } from "zod";
import { withTenant } from "../../db/tenant.ts";
import type { Logger } from "../../runtime/mod.ts";
import { originAllowed } from "../../channels/widget/settings.ts";
import type { Widgets } from "../../channels/widget/widgets.ts";
import {
  createLinkCode,
  type LinkCodeOptions,
  LinkCodeRateLimitedError,
} from "../../channels/linking/codes.ts";
import type { PushTokenStore } from "../../channels/push/store.ts";
import { WebPushSubscription } from "../../channels/push/webpush.ts";
import {
  ApiError,
  ConflictError,
  ForbiddenError,
  problem,
  RateLimitedError,
  UnauthorizedError,
  ValidationError,
} from "../errors.ts";
import { linksFor } from "./app_links.ts";

export interface WidgetPersonDeps {
  pool: pg.Pool;
  widgets: Widgets;
  push: PushTokenStore;
  /** The VAPID public key pages subscribe with; absent: no Web Push on this node. */
  vapidPublicKey?: string;
  linkCodes?: LinkCodeOptions;
  log: Logger;
}

const Body = z.object({ token: z.string().min(1).max(4000) }).passthrough();

export function widgetPersonRoutes(d: WidgetPersonDeps): Hono {
  const app = new Hono();
  app.onError((err, c) => {
    if (err instanceof ApiError) return problem(c, err);
    d.log.error("widget request failed", { error: String(err) });
    return problem(c, new ApiError(500, "Internal error", "Something went wrong"));
  });

  /** The widget of the query's key, once the request's origin may use it. */
  async function widgetOf(c: Context) {
    const conn = await d.widgets.byKey(c.req.query("key") ?? "");
    if (!conn) {
      throw new ApiError(404, "Not found", "No active widget has that key", [
        { field: "query.key", message: "unknown widget key" },
      ]);
    }
    const origin = c.req.header("origin") ?? null;
    if (!originAllowed(conn, origin)) {
      throw new ForbiddenError(`Origin ${origin ?? "(none)"} may not use this widget`);
    }
    c.header("access-control-allow-origin", origin!);
    c.header("vary", "Origin");
    return conn;
  }

  /** The visitor's end user, after the widget, its origin and the session are checked. */
  async function visitorOf(c: Context) {
    const conn = await widgetOf(c);
    let raw: unknown;
    try {
      raw = await c.req.json();
    } catch {
      throw new ValidationError("The body must be JSON", [{ field: "body", message: "not JSON" }]);
    }
    const body = Body.safeParse(raw);
    if (!body.success) {
      throw new ValidationError("The session token is missing", [
        { field: "body.token", message: "required" },
      ]);
    }
    const p = await d.widgets.authenticate(body.data.token, { connectionId: conn.id });
    if (!p) throw new UnauthorizedError("The widget session is invalid or expired");
    const endUserId = await withTenant(
      d.pool,
      p.creatorId,
      async (tx) =>
        (await tx.query<{ end_user_id: string }>(
          "select end_user_id from channel_identities where channel = $1 and external_id = $2",
          [p.channel, p.externalUserId],
        )).rows[0]?.end_user_id,
    );
    if (!endUserId) throw new ConflictError("Write a first message, then ask again");
    return { creatorId: p.creatorId, endUserId, body: raw as Record<string, unknown> };
  }

  app.get("/widget/v1/push-key", async (c) => {
    await widgetOf(c);
    if (!d.vapidPublicKey) throw new ApiError(404, "Not found", "Web Push is not configured");
    return c.json({ vapid_public_key: d.vapidPublicKey });
  });

  app.post("/widget/v1/link-codes", async (c) => {
    const v = await visitorOf(c);
    try {
      const made = await createLinkCode(d.pool, v.creatorId, v.endUserId, d.linkCodes);
      return c.json({
        code: made.code,
        expires_at: made.expiresAt.toISOString(),
        links: await linksFor(d.pool, v.creatorId, made.code),
      }, 201);
    } catch (err) {
      if (err instanceof LinkCodeRateLimitedError) {
        throw new RateLimitedError(err.retryAfterSeconds, "person's link codes");
      }
      throw err;
    }
  });

  app.post("/widget/v1/push-subscriptions", async (c) => {
    if (!d.vapidPublicKey) {
      throw new ValidationError("Web Push is not configured on this server", [
        { field: "body.subscription", message: "no VAPID keys configured" },
      ]);
    }
    const v = await visitorOf(c);
    const sub = WebPushSubscription.safeParse(v.body.subscription);
    if (!sub.success) {
      throw new ValidationError("The push subscription is invalid", [
        { field: "body.subscription", message: "a PushSubscription's JSON" },
      ]);
    }
    const id = await d.push.register(v.creatorId, {
      endUserId: v.endUserId,
      provider: "webpush",
      token: JSON.stringify(sub.data),
      hint: new URL(sub.data.endpoint).host,
    });
    return c.json({ id }, 201);
  });
  return app;
}
