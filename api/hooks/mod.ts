/**
 * The providers' webhooks under `/hooks`: Telegram and WhatsApp, each verified before its body
 * is read, answered with problem+json on bad input like the admin API.
 */
import { Hono } from "hono";
import type pg from "pg";
import type { NatsConnection } from "@nats-io/transport-node";
import type { ActorSystem, Logger } from "../../runtime/mod.ts";
import type { ConnectionDirectory } from "../../channels/core/connections.ts";
import type { ChannelMetrics } from "../../channels/core/metrics.ts";
import type { IntakeGate, KnownPeople } from "../../channels/core/intake.ts";
import type { TelegramSender } from "../../channels/telegram/sender.ts";
import type { WhatsAppSender } from "../../channels/whatsapp/sender.ts";
import { errorHandler } from "../errors.ts";
import { telegramHook } from "./telegram.ts";
import { whatsappHook } from "./whatsapp.ts";

export interface HooksDeps {
  pool: pg.Pool;
  nc: NatsConnection;
  prefix: string;
  system: ActorSystem;
  connections: ConnectionDirectory;
  telegram: TelegramSender;
  whatsapp: WhatsAppSender;
  metrics: ChannelMetrics;
  log: Logger;
  known?: KnownPeople;
  gate?: IntakeGate;
}

export function createHooks(d: HooksDeps): Hono {
  const app = new Hono();
  app.onError(errorHandler(d.log));
  app.route("/telegram", telegramHook({ ...d, sender: d.telegram }));
  app.route("/whatsapp", whatsappHook({ ...d, sender: d.whatsapp }));
  return app;
}
