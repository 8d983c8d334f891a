/**
 * One Telegram update, from a webhook or the poller: normalized, taken in (durably, once), the
 * button press acknowledged and the typing indicator shown; a block or unblock recorded.
 */
import type pg from "pg";
import type { Update } from "grammy/types";
import type { ActorSystem, Logger } from "../../runtime/mod.ts";
import type { Connection } from "../core/connections.ts";
import { type IntakeGate, type IntakeResult, type KnownPeople, takeIn } from "../core/intake.ts";
import type { ChannelMetrics } from "../core/metrics.ts";
import { setReachable } from "../core/reachability.ts";
import { normalizeUpdate } from "./normalize.ts";
import { type TelegramSender, tokenOf } from "./sender.ts";

export interface TelegramDeps {
  pool: pg.Pool;
  system: ActorSystem;
  /** People this node has seen (the intake's fast path). */
  known?: KnownPeople;
  /** Plan limits on inbound messages and new end users. */
  gate?: IntakeGate;
  sender: TelegramSender;
  metrics: ChannelMetrics;
  log: Logger;
}

export async function handleUpdate(
  deps: TelegramDeps,
  conn: Connection,
  update: Update,
): Promise<IntakeResult | { status: "ignored" | "recorded" }> {
  const event = normalizeUpdate(update, { creatorId: conn.creatorId, connectionId: conn.id });
  if (event.type === "ignored") {
    deps.metrics.inbound.inc({ channel: "telegram", outcome: "ignored" });
    return { status: "ignored" };
  }
  if (event.type === "reachability") {
    await setReachable(deps.pool, {
      creatorId: conn.creatorId,
      channel: "telegram",
      externalId: event.externalUserId,
      reachable: event.reachable,
      reason: event.reason,
    });
    return { status: "recorded" };
  }
  const result = await takeIn(deps, event.message);
  deps.metrics.inbound.inc({ channel: "telegram", outcome: result.status });
  if (result.status === "accepted") {
    // After the durable hand-over, and without holding up the webhook's answer.
    const api = deps.sender.api(tokenOf(conn));
    if (event.callbackQueryId) api.answerCallbackQuery(event.callbackQueryId).catch(() => {});
    deps.sender.typing({
      identityId: result.identityId,
      endUserId: result.endUserId,
      externalId: event.message.externalUserId,
      displayName: event.message.displayName ?? "",
      startedAt: null,
      lastInboundAt: null,
    }, conn);
  }
  return result;
}
