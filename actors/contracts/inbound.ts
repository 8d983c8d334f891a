/**
 * What every channel adapter turns a provider's payload into (one normalized inbound message),
 * and what the channels' intake tells the person's UserActor once it knows who they are.
 */
import { z } from "zod";
import { Channel } from "./channel.ts";

/** What the person sent: text, a quick-reply button, a command, or something we cannot read. */
export const InboundContent = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text"), text: z.string().min(1).max(8000) }),
  z.object({
    type: z.literal("button"),
    /** The payload we attached to the button (a quick reply's value). */
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

export const NormalizedInbound = z.object({
  channel: Channel,
  /** The channel connection (bot, phone number, widget key) it came through. */
  connectionId: z.uuid(),
  creatorId: z.uuid(),
  /** The provider's id for the person (Telegram chat id, WhatsApp wa_id, widget visitor id). */
  externalUserId: z.string().min(1).max(200),
  /** The provider's id for this message: the same message delivered twice is taken in once. */
  externalMessageId: z.string().min(1).max(300),
  displayName: z.string().max(300).optional(),
  /** IETF language tag the provider reports, if any. */
  locale: z.string().max(35).optional(),
  /** When the person sent it (provider time), in epoch ms. */
  sentAt: z.number(),
  content: InboundContent,
});
export type NormalizedInbound = z.infer<typeof NormalizedInbound>;

/** The UserActor's `inbound`: the normalized message and who it is from. */
export const Inbound = NormalizedInbound.extend({
  endUserId: z.uuid(),
  identityId: z.uuid(),
  /** When the platform took it in, epoch ms. */
  receivedAt: z.number(),
});
export type Inbound = z.infer<typeof Inbound>;
