/**
 * `POST /hooks/telegram/{channelId}`: the Bot API's webhook. The secret token Telegram echoes in
 * `X-Telegram-Bot-Api-Secret-Token` is checked in constant time before the body is read; the
 * update is taken in durably, then answered 200 (the coach's answer comes later, on its own).
 */
import { Hono } from "hono";
import type { Update } from "grammy/types";
import type { ConnectionDirectory } from "../../channels/core/connections.ts";
import { handleUpdate, type TelegramDeps } from "../../channels/telegram/updates.ts";
import { ApiError, UnauthorizedError } from "../errors.ts";
import { parseJsonBody, readRawBody, sameSecret } from "./verify.ts";

export interface TelegramHookDeps extends TelegramDeps {
  connections: ConnectionDirectory;
  /** Largest update accepted (default 1 MiB; Telegram's are a few KB). */
  maxBodyBytes?: number;
}

export function telegramHook(deps: TelegramHookDeps): Hono {
  const app = new Hono();
  app.post("/:channelId", async (c) => {
    const conn = await deps.connections.get(c.req.param("channelId"));
    if (!conn || conn.kind !== "telegram") {
      throw new ApiError(404, "Not found", "No Telegram channel has this id");
    }
    const given = c.req.header("x-telegram-bot-api-secret-token") ?? "";
    if (!(sameSecret(given, conn.secrets.webhook_secret))) {
      throw new UnauthorizedError("The secret token does not match this channel's");
    }
    const body = parseJsonBody(await readRawBody(c.req.raw, deps.maxBodyBytes ?? 1 << 20));
    if (
      typeof body !== "object" || body === null || !Number.isInteger((body as Update).update_id)
    ) {
      throw new ApiError(400, "Bad update", "Not a Telegram update", [
        { field: "body.update_id", message: "expected an integer" },
      ]);
    }
    // A disabled channel is answered (so Telegram stops retrying) and its updates dropped.
    if (conn.status !== "active") return c.json({ ok: true, ignored: "channel disabled" });
    const result = await handleUpdate(deps, conn, body as Update);
    return c.json({ ok: true, status: result.status });
  });
  return app;
}
