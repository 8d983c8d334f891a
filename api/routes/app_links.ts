/**
 * A link code for the person to send on another channel (channels/linking/codes.ts), with the
 * ready-made links that send it: a Telegram deep link (`t.me/<bot>?start=<code>`) and a WhatsApp
 * click-to-chat link for each connected bot and number.
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { withTenant } from "../../db/tenant.ts";
import {
  createLinkCode,
  type LinkCodeOptions,
  LinkCodeRateLimitedError,
} from "../../channels/linking/codes.ts";
import { RateLimitedError } from "../errors.ts";
import { errorResponses, jsonResponse } from "../lib/route.ts";
import type { AppEnv } from "./app_auth.ts";

const LinkCode = z.object({
  code: z.string(),
  expires_at: z.string(),
  links: z.array(z.object({ channel: z.enum(["telegram", "whatsapp"]), url: z.url() })),
}).openapi("LinkCode");

export function registerAppLinks(
  app: OpenAPIHono<AppEnv>,
  o: { options?: LinkCodeOptions; auth: MiddlewareHandler<AppEnv> },
) {
  app.openapi(
    createRoute({
      method: "post",
      path: "/link-codes",
      tags: ["app"],
      summary: "A short-lived, single-use code that links another channel to this person",
      middleware: [o.auth],
      security: [{ bearerAuth: [] }],
      responses: { ...errorResponses, 201: jsonResponse(LinkCode, "The code") },
    }),
    async (c) => {
      const s = c.get("endUser");
      const { pool } = c.get("services");
      let made;
      try {
        made = await createLinkCode(pool, s.creatorId, s.endUserId, o.options);
      } catch (err) {
        if (err instanceof LinkCodeRateLimitedError) {
          throw new RateLimitedError(err.retryAfterSeconds, "person's link codes");
        }
        throw err;
      }
      const connections = await withTenant(
        pool,
        s.creatorId,
        async (tx) =>
          (await tx.query<{ kind: "telegram" | "whatsapp"; config: Record<string, unknown> }>(
            `select kind, config from channel_connections
            where status = 'active' and kind in ('telegram', 'whatsapp') order by created_at, id`,
          )).rows,
      );
      const links = connections.flatMap(
        (ch): { channel: "telegram" | "whatsapp"; url: string }[] => {
          if (ch.kind === "telegram" && typeof ch.config.bot_username === "string") {
            return [{
              channel: ch.kind,
              url: `https://t.me/${ch.config.bot_username}?start=${made.code}`,
            }];
          }
          if (ch.kind === "whatsapp" && typeof ch.config.phone_number === "string") {
            const digits = ch.config.phone_number.replace(/\D/g, "");
            return [{ channel: ch.kind, url: `https://wa.me/${digits}?text=${made.code}` }];
          }
          return [];
        },
      );
      return c.json({ code: made.code, expires_at: made.expiresAt.toISOString(), links }, 201);
    },
  );
}
