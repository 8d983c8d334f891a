/**
 * The person's conversation from the app: send a message (taken in like any channel's, as
 * `mobile_app`) and read the history, every channel's, newest first with a cursor.
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { withTenant } from "../../db/tenant.ts";
import type { ActorSystem } from "../../runtime/mod.ts";
import { type KnownPeople, takeIn } from "../../channels/core/intake.ts";
import type { RealtimeHub } from "../../channels/widget/hub.ts";
import { appendMessage } from "../../channels/widget/log.ts";
import { ConflictError } from "../errors.ts";
import { iso, listPage, pageOf, PageQuery } from "../lib/pagination.ts";
import { errorResponses, jsonBody, jsonResponse } from "../lib/route.ts";
import type { AppEnv } from "./app_auth.ts";

const tags = ["app"];

const AppMessage = z.object({
  id: z.uuid(),
  role: z.enum(["user", "assistant", "creator"]),
  text: z.string(),
  conversation_id: z.uuid(),
  /** The channel the message was written or delivered on. */
  channel: z.string().nullable(),
  delivery_status: z.string().nullable(),
  created_at: z.string(),
}).openapi("AppMessage");

interface Row extends Record<string, unknown> {
  id: string;
  role: "user" | "assistant" | "creator";
  content: string;
  conversation_id: string;
  channel: string | null;
  delivery_status: string | null;
  created_at: Date;
}

export function registerAppMessages(
  app: OpenAPIHono<AppEnv>,
  o: {
    system: () => ActorSystem;
    known?: KnownPeople;
    /** When set, what the app sends also shows on the person's sockets (their other devices). */
    hub?: RealtimeHub;
    auth: MiddlewareHandler<AppEnv>;
  },
) {
  app.openapi(
    createRoute({
      method: "post",
      path: "/messages",
      tags,
      summary: "Send the coach a message; the answer arrives over the socket, as push, in history",
      middleware: [o.auth],
      security: [{ bearerAuth: [] }],
      request: {
        body: jsonBody(z.strictObject({
          text: z.string().trim().min(1).max(8000),
          client_message_id: z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/).optional().openapi({
            description: "The app's id for the message: sending it again is taken in once",
          }),
        })),
      },
      responses: {
        ...errorResponses,
        202: jsonResponse(
          z.object({ status: z.enum(["accepted", "duplicate"]), message_id: z.string() }),
          "Taken in",
        ),
      },
    }),
    async (c) => {
      const s = c.get("endUser");
      const body = c.req.valid("json");
      if (!s.connectionId) throw new ConflictError("The app's channel connection was removed");
      const messageId = body.client_message_id ?? crypto.randomUUID();
      const { pool } = c.get("services");
      const result = await takeIn({ pool, system: o.system(), known: o.known }, {
        channel: "mobile_app",
        connectionId: s.connectionId,
        creatorId: s.creatorId,
        externalUserId: s.externalId,
        // As the socket names them: the same client id sent both ways is taken in once.
        externalMessageId: `${s.externalId}:${messageId}`,
        sentAt: Date.now(),
        content: { type: "text", text: body.text },
      });
      if (o.hub && result.status === "accepted") {
        const { message } = await appendMessage(pool, {
          creatorId: s.creatorId,
          endUserId: result.endUserId,
          key: `in:${result.endUserId}:${messageId}`,
          role: "user",
          body: { text: body.text, cid: messageId },
        });
        o.hub.publish(result.endUserId, { type: "message", message, sentAt: Date.now() });
      }
      return c.json({ status: result.status, message_id: messageId }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/messages",
      tags,
      summary: "The person's messages on every channel, newest first",
      middleware: [o.auth],
      security: [{ bearerAuth: [] }],
      request: { query: PageQuery },
      responses: { ...errorResponses, 200: jsonResponse(pageOf(AppMessage), "A page") },
    }),
    async (c) => {
      const s = c.get("endUser");
      const q = c.req.valid("query");
      const page = await withTenant(c.get("services").pool, s.creatorId, (tx) =>
        listPage<Row>(tx, {
          from: "messages",
          where: ["t.end_user_id = $1", "t.role <> 'system'"],
          params: [s.endUserId],
          limit: q.limit,
          cursor: q.cursor,
          columns: `t.id, t.role, t.content, t.conversation_id, t.created_at,
            (select cv.channel from conversations cv where cv.id = t.conversation_id) channel,
            (select d.status from deliveries d where d.id = t.delivery_id) delivery_status`,
        }));
      return c.json({
        data: page.rows.map((r) => ({
          id: r.id,
          role: r.role,
          text: r.content,
          conversation_id: r.conversation_id,
          channel: r.channel,
          delivery_status: r.delivery_status,
          created_at: iso(r.created_at)!,
        })),
        next_cursor: page.nextCursor,
      }, 200);
    },
  );
}
