/**
 * What a creator's site talks to: the widget script (`/widget.js`, revalidated by ETag, and
 * `/widget.<hash>.js`, immutable), its REST calls under `/widget/v1` (the look, sessions) and
 * the real-time socket. Each call names the widget by its public key and must come from one of
 * the widget's allowed origins (the `Origin` header); any other origin gets 403. Sessions and
 * messages are rate limited per visitor and per key, shared by the cluster (Postgres counters).
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { upgradeWebSocket } from "hono/deno";
import type pg from "pg";
import { z } from "zod";
import type { Logger } from "../../runtime/mod.ts";
import type { Connection } from "../../channels/core/connections.ts";
import type { WidgetAsset } from "../../channels/widget/asset.ts";
import { originAllowed, publicLook } from "../../channels/widget/settings.ts";
import { IdentityRefusedError, type Widgets } from "../../channels/widget/widgets.ts";
import { type SocketDeps, SocketSession } from "../../channels/widget/socket.ts";
import { ApiError, ForbiddenError, problem, RateLimitedError, ValidationError } from "../errors.ts";
import { hit } from "../middleware/rate_limit.ts";

export interface WidgetLimits {
  /** Messages per visitor per window. */
  messagesPerVisitor: number;
  /** Messages per widget key per window (all visitors). */
  messagesPerKey: number;
  /** New sessions per client address per window. */
  sessionsPerIp: number;
  windowMs: number;
}

export interface WidgetRouteDeps {
  pool: pg.Pool;
  widgets: Widgets;
  asset: WidgetAsset;
  /** What each socket session needs, but its authenticators and rate limiter. */
  socket: Omit<SocketDeps, "allow" | "authenticators"> & {
    authenticators?: SocketDeps["authenticators"];
  };
  limits: WidgetLimits;
  log: Logger;
  trustProxy?: boolean;
}

const SessionInput = z.strictObject({
  token: z.string().max(4000).optional(),
  user: z.strictObject({
    id: z.string().min(1).max(190),
    hash: z.string().min(1).max(200),
    name: z.string().max(200).optional(),
  }).optional(),
});

export function widgetRoutes(d: WidgetRouteDeps): Hono {
  const app = new Hono();
  app.onError((err, c) => {
    if (err instanceof ApiError) return problem(c, err);
    d.log.error("widget request failed", { error: String(err) });
    return problem(c, new ApiError(500, "Internal error", "Something went wrong"));
  });
  const scriptHeaders = (c: Context, maxAge: string) => {
    c.header("content-type", "text/javascript; charset=utf-8");
    c.header("cache-control", maxAge);
    c.header("etag", d.asset.etag);
    c.header("cross-origin-resource-policy", "cross-origin");
    c.header("x-widget-gzip-bytes", String(d.asset.gzipBytes));
  };
  const serveScript = async (c: Context, maxAge: string) => {
    const key = c.req.query("key");
    if (key) await allowedWidget(c, key); // a page that names its key is checked at once
    scriptHeaders(c, maxAge);
    if (c.req.header("if-none-match") === d.asset.etag) return c.body(null, 304);
    return c.body(d.asset.body as Uint8Array<ArrayBuffer>, 200);
  };
  // Short-lived and revalidated: a new release reaches pages within minutes, at a 304's cost.
  app.get("/widget.js", (c) => serveScript(c, "public, max-age=300, stale-while-revalidate=86400"));
  app.get("/:file{widget\\.[0-9a-f]{16}\\.js}", (c) => {
    if (c.req.param("file") !== `widget.${d.asset.hash}.js`) {
      return c.text("That version of the widget is gone; load /widget.js", 404);
    }
    return serveScript(c, "public, max-age=31536000, immutable");
  });

  /** The widget of the request's `key`, after checking the request's origin may use it. */
  async function allowedWidget(c: Context, key: string | undefined): Promise<Connection> {
    const conn = key ? await d.widgets.byKey(key) : null;
    if (!conn) {
      throw new ApiError(404, "Not found", "No active widget has that key", [
        { field: "query.key", message: "unknown widget key" },
      ]);
    }
    const origin = c.req.header("origin") ?? refererOrigin(c.req.header("referer"));
    if (!originAllowed(conn, origin)) {
      throw new ForbiddenError(`Origin ${origin ?? "(none)"} may not use this widget`);
    }
    return conn;
  }

  const rest = new Hono<{ Variables: { widget: Connection } }>();
  rest.use(async (c, next) => {
    const conn = await allowedWidget(c, c.req.query("key"));
    c.header("access-control-allow-origin", c.req.header("origin")!);
    c.header("vary", "Origin");
    c.header("cross-origin-resource-policy", "cross-origin");
    c.set("widget", conn);
    if (c.req.method === "OPTIONS") {
      c.header("access-control-allow-methods", "GET, POST");
      c.header("access-control-allow-headers", "content-type");
      c.header("access-control-max-age", "600");
      return c.body(null, 204);
    }
    await next();
  });
  const widgetOf = (c: Context<{ Variables: { widget: Connection } }>) => c.get("widget");
  rest.get("/config", (c) => {
    const conn = widgetOf(c);
    c.header("cache-control", "public, max-age=60");
    return c.json({ look: publicLook(conn) });
  });
  rest.post("/sessions", async (c) => {
    const conn = widgetOf(c);
    const ip = clientAddress(c, d.trustProxy);
    const count = await hit(d.pool, `widget:s:${conn.id}:${ip}`, d.limits.windowMs);
    if (count.count > d.limits.sessionsPerIp) {
      throw new RateLimitedError(Math.ceil(count.resetMs / 1000), "address");
    }
    let raw: unknown;
    try {
      raw = await c.req.json();
    } catch {
      throw new ValidationError("The body must be JSON", [{ field: "body", message: "not JSON" }]);
    }
    const body = SessionInput.safeParse(raw);
    if (!body.success) {
      throw new ValidationError(
        "The session request is invalid",
        body.error.issues.map((i) => ({
          field: ["body", ...i.path].join("."),
          message: i.message,
        })),
      );
    }
    try {
      const s = await d.widgets.startSession(conn, body.data);
      return c.json({
        token: s.token,
        expires_at: new Date(s.expiresAt).toISOString(),
        visitor: { id: s.visitor.externalUserId, identified: s.visitor.identified },
      }, 201);
    } catch (err) {
      if (!(err instanceof IdentityRefusedError)) throw err;
      throw new ApiError(403, "Identity refused", err.message, [
        { field: "body.user.hash", message: "not the HMAC-SHA256 of user.id" },
      ]);
    }
  });
  rest.get(
    "/socket",
    upgradeWebSocket((c) => {
      const conn = widgetOf(c);
      const allow = async (bucket: string, kind: "visitor" | "key") => {
        const limit = kind === "visitor" ? d.limits.messagesPerVisitor : d.limits.messagesPerKey;
        return (await hit(d.pool, `widget:m:${bucket}`, d.limits.windowMs)).count <= limit;
      };
      let session: SocketSession | undefined;
      return {
        onOpen: (_evt, ws) => {
          session = new SocketSession(
            { ...d.socket, authenticators: d.socket.authenticators ?? [d.widgets], allow },
            {
              send: (frame) => ws.send(JSON.stringify(frame)),
              close: (code, reason) => ws.close(code, reason),
            },
            { connectionId: conn.id },
          );
        },
        onMessage: (evt) => {
          if (typeof evt.data !== "string") {
            return session?.onText("binary frames are not part of the protocol");
          }
          session?.onText(evt.data);
        },
        onClose: () => session?.onClose(),
        onError: () => session?.onClose(),
      };
    }),
  );
  app.route("/widget/v1", rest);
  return app;
}

function refererOrigin(referer: string | undefined): string | null {
  if (!referer) return null;
  try {
    return new URL(referer).origin;
  } catch {
    return null;
  }
}

function clientAddress(c: Context, trustProxy?: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header("x-forwarded-for")?.split(",")[0]?.trim();
    if (forwarded) return forwarded;
  }
  const env = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return env?.remoteAddr?.hostname ?? "unknown";
}
