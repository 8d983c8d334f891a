/**
 * What an actor asks the channels to send (channels/core/delivery_worker.ts sends it): emitted with `ctx.emit(DELIVERY_SUBJECT, request)` in
 * a committed turn, so the event's id (stable across redeliveries) is the delivery's idempotency
 * key.
 */
import { z } from "zod";

export const DELIVERY_SUBJECT = "delivery.requested";

export const DeliveryPurpose = z.enum([
  /** The coach's answer to the person's message. */
  "answer",
  /** The creator writing personally (handoff inbox). */
  "creator_reply",
  /** A short system notice: "I can read text only for now", "You won't get reminders". */
  "notice",
  /** The proactive coach reaching out: inactivity, streak at risk, re-engagement. */
  "nudge",
  /** A program step that is due. */
  "program",
  /** A badge or achievement announced. */
  "badge",
]);
export type DeliveryPurpose = z.infer<typeof DeliveryPurpose>;

/** Purposes the person did not just ask for: opt-out and the channel's proactive rules apply. */
export const PROACTIVE_PURPOSES: readonly DeliveryPurpose[] = ["nudge", "program", "badge"];

export const QuickReply = z.object({
  label: z.string().min(1).max(60),
  /** Comes back as the button reply's payload (64 bytes: Telegram's callback data limit). */
  payload: z.string().min(1).max(64),
});

export const DeliveryRequest = z.object({
  /**
   * The delivery's idempotency key, chosen by the actor so other records can name it (the
   * conversation's message row); defaults to the event's id.
   */
  id: z.string().min(1).max(300).optional(),
  creatorId: z.uuid(),
  endUserId: z.uuid(),
  /** The conversation the message belongs to, when there is one. */
  conversationId: z.string().max(200).optional(),
  /** The identity to send to; absent: the person's most recently active reachable identity. */
  identityId: z.uuid().optional(),
  purpose: DeliveryPurpose,
  text: z.string().min(1).max(20_000),
  quickReplies: z.array(QuickReply).max(10).optional(),
  /** Sources the answer cites, shown as links where the channel can. */
  citations: z.array(z.object({ title: z.string().max(300), url: z.url().optional() })).max(10)
    .optional(),
  /**
   * Values for a WhatsApp template's body variables, in order, used when the message must go
   * out as a template (outside the 24-hour window).
   */
  templateVariables: z.array(z.string().max(1000)).max(10).optional(),
});
export type DeliveryRequest = z.infer<typeof DeliveryRequest>;
