/**
 * What every channel adapter turns a provider's payload into: one normalized inbound message.
 * The core takes it from there (identity, dedupe, the durable hand-over to the user's actor).
 */
import { z } from "zod";

/** What the person sent: text, a quick-reply button, a command, or something we cannot read. */
export const InboundContent = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text"), text: z.string().min(1).max(8000) }),
  z.object({
    type: z.literal("button"),
    /** The payload we attached to the button (e.g. a quick reply's value). */
    payload: z.string().max(1000),
    /** The label the person saw. */
    text: z.string().max(1000),
  }),
  z.object({
    type: z.literal("command"),
    /** Without the slash: `start`, `stop`, `help`. */
    command: z.string().min(1).max(64),
    /** What followed the command (a `/start` deep-link payload). */
    args: z.string().max(1000),
  }),
  z.object({
    type: z.literal("attachment"),
    kind: z.enum([
      "image",
      "audio",
      "video",
      "document",
      "sticker",
      "location",
      "contact",
      "other",
    ]),
    caption: z.string().max(4000).optional(),
  }),
]);
export type InboundContent = z.infer<typeof InboundContent>;

export interface NormalizedInbound {
  channel: string;
  /** The channel connection (bot, phone number, widget key) it came through. */
  connectionId: string;
  creatorId: string;
  /** The provider's id for the person (Telegram chat id, WhatsApp wa_id, widget visitor id). */
  externalUserId: string;
  /** The provider's id for this message: the same message delivered twice is taken in once. */
  externalMessageId: string;
  displayName?: string;
  /** IETF language tag the provider reports, if any. */
  locale?: string;
  /** When the person sent it (provider time), in epoch ms. */
  sentAt: number;
  content: InboundContent;
}
