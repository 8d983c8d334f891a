/**
 * `/hooks/whatsapp/{channelId}`: the Cloud API's webhook. GET answers Meta's verification
 * handshake; POST is checked against `X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the
 * app secret, compared in constant time) before the body is parsed, then its messages are taken
 * in durably, its statuses put on the events stream, and it is answered 200.
 */
import { Hono } from "hono";
import type { NatsConnection } from "@nats-io/transport-node";
import type { ConnectionDirectory } from "../../channels/core/connections.ts";
import { takeIn } from "../../channels/core/intake.ts";
import { publishStatus } from "../../channels/core/statuses.ts";
import type { TelegramDeps } from "../../channels/telegram/updates.ts";
import { normalizeWebhook } from "../../channels/whatsapp/normalize.ts";
import { WaWebhook } from "../../channels/whatsapp/payload.ts";
import type { WhatsAppSender } from "../../channels/whatsapp/sender.ts";
import { ApiError, fieldErrors, UnauthorizedError } from "../errors.ts";
import { hmacSha256Hex, parseJsonBody, readRawBody, sameSecret } from "./verify.ts";

export interface WhatsAppHookDeps extends Omit<TelegramDeps, "sender"> {
  connections: ConnectionDirectory;
  sender: WhatsAppSender;
  nc: NatsConnection;
  prefix: string;
  maxBodyBytes?: number;
}

export function whatsappHook(deps: WhatsAppHookDeps): Hono {
  const app = new Hono();
  const connection = async (id: string) => {
    const conn = await deps.connections.get(id);
    if (!conn || conn.kind !== "whatsapp") {
      throw new ApiError(404, "Not found", "No WhatsApp channel has this id");
    }
    return conn;
  };

  app.get("/:channelId", async (c) => {
    const conn = await connection(c.req.param("channelId"));
    const mode = c.req.query("hub.mode");
    const token = c.req.query("hub.verify_token") ?? "";
    const challenge = c.req.query("hub.challenge") ?? "";
    if (mode !== "subscribe" || !(sameSecret(token, conn.secrets.verify_token))) {
      throw new ApiError(403, "Forbidden", "The verify token does not match this channel's");
    }
    return c.text(challenge.slice(0, 200), 200);
  });

  app.post("/:channelId", async (c) => {
    const conn = await connection(c.req.param("channelId"));
    const raw = await readRawBody(c.req.raw, deps.maxBodyBytes ?? 1 << 20);
    const given = c.req.header("x-hub-signature-256") ?? "";
    const expected = conn.secrets.app_secret
      ? `sha256=${hmacSha256Hex(conn.secrets.app_secret, raw)}`
      : undefined;
    if (!(sameSecret(given, expected))) {
      throw new UnauthorizedError("X-Hub-Signature-256 does not match the body");
    }
    const parsed = WaWebhook.safeParse(parseJsonBody(raw));
    if (!parsed.success) {
      throw new ApiError(
        400,
        "Bad webhook",
        "Not a WhatsApp Business Account webhook",
        fieldErrors("body", parsed.error),
      );
    }
    if (conn.status !== "active") return c.json({ ok: true, ignored: "channel disabled" });
    const { messages, statuses } = normalizeWebhook(parsed.data, {
      creatorId: conn.creatorId,
      connectionId: conn.id,
      phoneNumberId: String(conn.config.phone_number_id ?? ""),
    });
    // In the order WhatsApp sent them: a person's messages reach their actor in order.
    for (const m of messages) {
      const result = await takeIn(deps, m);
      deps.metrics.inbound.inc({ channel: "whatsapp", outcome: result.status });
      if (result.status === "accepted") {
        deps.sender.typing(
          {
            identityId: result.identityId,
            endUserId: result.endUserId,
            externalId: m.externalUserId,
            displayName: m.displayName ?? "",
            startedAt: null,
            lastInboundAt: null,
          },
          conn,
          m.externalMessageId,
        );
      }
    }
    for (const s of statuses) await publishStatus(deps.nc, deps.prefix, s);
    return c.json({ ok: true, messages: messages.length, statuses: statuses.length });
  });
  return app;
}
