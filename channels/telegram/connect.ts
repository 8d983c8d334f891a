/**
 * Connecting and disconnecting a bot: the token is checked with getMe, the webhook registered
 * with a secret token (or, without a public URL, the bot is left to the cluster's poller), and
 * removed again on disconnect.
 */
import { type Api, GrammyError } from "grammy/web";
import { classify } from "./sender.ts";

/** The updates Coachd reads; others are never sent to us. */
export const ALLOWED_UPDATES = [
  "message",
  "edited_message",
  "callback_query",
  "my_chat_member",
] as const;

export class InvalidBotTokenError extends Error {
  constructor(readonly description: string) {
    super(`Telegram refused the bot token: ${description}`);
    this.name = "InvalidBotTokenError";
  }
}

/** The bot's identity; throws InvalidBotTokenError when Telegram does not know the token. */
export async function checkBot(api: Api): Promise<{ id: number; username: string }> {
  try {
    const me = await api.getMe();
    return { id: me.id, username: me.username };
  } catch (err) {
    if (err instanceof GrammyError && (err.error_code === 401 || err.error_code === 404)) {
      throw new InvalidBotTokenError(err.description);
    }
    throw classify(err);
  }
}

/** Registers `url` as the bot's webhook; Telegram sends `secretToken` with every update. */
export async function registerWebhook(api: Api, url: string, secretToken: string): Promise<void> {
  try {
    await api.setWebhook(url, {
      secret_token: secretToken,
      allowed_updates: [...ALLOWED_UPDATES],
      max_connections: 40,
    });
  } catch (err) {
    throw classify(err);
  }
}

/** Removes the bot's webhook (pending updates are kept for whoever polls next). */
export async function removeWebhook(api: Api): Promise<void> {
  try {
    await api.deleteWebhook({ drop_pending_updates: false });
  } catch (err) {
    throw classify(err);
  }
}
