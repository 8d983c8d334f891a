/**
 * Connecting a channel with its provider, for the admin API: a Telegram bot's token is checked
 * with getMe and its webhook registered under PUBLIC_URL with the connection's secret token (or,
 * without a public URL, the bot is marked for the cluster's long-polling); a WhatsApp number is
 * told the webhook URL and verify token to paste into Meta's console. Disconnecting removes the
 * Telegram webhook. Every change is announced so each node's connection cache forgets it.
 */
import type { ConnectionDirectory } from "./core/connections.ts";
import { ProviderError } from "./core/sender.ts";
import {
  checkBot,
  InvalidBotTokenError,
  registerWebhook,
  removeWebhook,
} from "./telegram/connect.ts";
import type { TelegramSender } from "./telegram/sender.ts";

export interface ConnectingChannel {
  id: string;
  creatorId: string;
  kind: string;
  config: Record<string, unknown>;
  secrets: Record<string, string>;
}

/**
 * What the admin API asks of the channels when creators connect or disconnect one: check the
 * credentials with the provider and register the webhook, undo that on disconnect, and tell every
 * node a connection changed.
 */
export interface ChannelConnector {
  /** Settings to store with the connection (mode, bot name, webhook URL...). */
  connect(ch: ConnectingChannel): Promise<Record<string, unknown>>;
  disconnect(ch: ConnectingChannel): Promise<void>;
  changed(id: string): void;
}

/** The provider refused the credentials given for `field`. */
export class ChannelCredentialsError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = "ChannelCredentialsError";
  }
}

export function channelConnector(
  o: { telegram: TelegramSender; connections: ConnectionDirectory; publicUrl?: string },
): ChannelConnector {
  const base = o.publicUrl?.replace(/\/$/, "");
  return {
    async connect(ch: ConnectingChannel): Promise<Record<string, unknown>> {
      if (ch.kind === "telegram") {
        const api = o.telegram.api(ch.secrets.bot_token ?? "");
        let bot;
        try {
          bot = await checkBot(api);
        } catch (err) {
          if (err instanceof InvalidBotTokenError) {
            throw new ChannelCredentialsError("body.bot_token", err.message);
          }
          throw err;
        }
        if (!base) return { bot_username: bot.username, mode: "polling" };
        const url = `${base}/hooks/telegram/${ch.id}`;
        await registerWebhook(api, url, ch.secrets.webhook_secret ?? "");
        return { bot_username: bot.username, mode: "webhook", webhook_url: url };
      }
      if (ch.kind === "whatsapp") {
        return base ? { webhook_url: `${base}/hooks/whatsapp/${ch.id}` } : {
          webhook_url: null,
          note: "WhatsApp needs a public webhook URL: set PUBLIC_URL on the nodes",
        };
      }
      return {};
    },
    async disconnect(ch: ConnectingChannel): Promise<void> {
      if (ch.kind === "telegram" && ch.config.mode === "webhook" && ch.secrets.bot_token) {
        await removeWebhook(o.telegram.api(ch.secrets.bot_token)).catch((err) => {
          // The bot may already be gone; the connection is deleted all the same.
          if (!(err instanceof ProviderError)) throw err;
        });
      }
    },
    changed(id: string): void {
      o.connections.announce(id);
    },
  };
}
