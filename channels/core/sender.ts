/**
 * What a provider folder implements for outbound messages: its rules at send time, its limits,
 * and one call that sends one message. Everything else (statuses, pacing, retries, records) is
 * the core's delivery worker.
 */
import type { Connection } from "./connections.ts";
import type { DeliveryRequest, QuickReply } from "../../actors/mod.ts";
import type { SlotLimits } from "./send_slots.ts";
import type { z } from "zod";

/** The person a delivery goes to, as the channel knows them. */
export interface Recipient {
  identityId: string;
  endUserId: string;
  externalId: string;
  displayName: string;
  /** Telegram: when the person pressed Start (epoch ms), if ever. */
  startedAt: number | null;
  /** When the person last wrote to us on this identity (epoch ms), if ever. */
  lastInboundAt: number | null;
}

/** One message as it goes to the provider. */
export interface OutboundPart {
  text: string;
  quickReplies?: z.infer<typeof QuickReply>[];
  /** Send as this approved template instead of free-form text (WhatsApp outside the window). */
  template?: { name: string; language: string; variables: string[] };
}

/** The channel's decision for one delivery: these parts, or skip it and say why. */
export type SendPlan = { parts: OutboundPart[] } | { skip: string };

export interface ChannelSender {
  readonly kind: string;
  limits(conn: Connection): SlotLimits;
  /** Applies the channel's rules and formatting at send time. */
  plan(req: DeliveryRequest, to: Recipient, conn: Connection, now: number): SendPlan;
  /** Sends one part; throws a {@link ProviderError} when the provider refuses or fails. */
  send(part: OutboundPart, to: Recipient, conn: Connection): Promise<{ providerMessageId: string }>;
  /** Shows the person the coach is typing (best effort, never throws). */
  typing?(to: Recipient, conn: Connection, inReplyTo?: string): Promise<void>;
}

/**
 * A provider's refusal or failure, classified for the worker:
 * - `retry`: rate limited or a server error; try again (after `retryAfterMs` when given);
 * - `unreachable`: the person blocked us or cannot be reached; mark the identity, stop;
 * - `permanent`: the request itself is wrong; record the provider's error, stop.
 */
export class ProviderError extends Error {
  constructor(
    readonly kind: "retry" | "unreachable" | "permanent",
    message: string,
    readonly details: {
      code?: string | number;
      retryAfterMs?: number;
      /** A rate limit of the whole connection (pause every chat), not just this chat. */
      connectionWide?: boolean;
      /** Refused before reaching the provider (its breaker is open): not an attempt. */
      notAttempted?: boolean;
    } = {},
  ) {
    super(message);
    this.name = "ProviderError";
  }
}
