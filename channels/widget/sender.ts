/**
 * Sends deliveries to people on real-time channels (the web widget; the mobile app can use the
 * same class with its kind): the message is appended to the person's real-time log, which numbers
 * it, then published to every node's sockets of that person. A redelivered delivery finds its
 * log row by key and is published again under the same number, which sockets drop as a repeat.
 */
import type pg from "pg";
import { type DeliveryRequest, stableUuid } from "../../actors/mod.ts";
import type { Connection } from "../core/connections.ts";
import type { ChannelSender, OutboundPart, Recipient, SendPlan } from "../core/sender.ts";
import type { SlotLimits } from "../core/send_slots.ts";
import type { RealtimeHub } from "./hub.ts";
import { appendMessage, type RealtimeRole } from "./log.ts";

/** What a real-time part carries beyond text and buttons. */
export interface RealtimePart extends OutboundPart {
  key: string;
  role: RealtimeRole;
  purpose: string;
  citations?: { title: string; url?: string }[];
}

export class RealtimeSender implements ChannelSender {
  readonly kind: string;

  constructor(
    private readonly o: { pool: pg.Pool; hub: RealtimeHub; kind?: string; perSecond?: number },
  ) {
    this.kind = o.kind ?? "web_widget";
  }

  limits(_conn: Connection): SlotLimits {
    // Sockets take what they get; the pacer only spreads a burst a little.
    return { perSecond: this.o.perSecond ?? 1000, chatIntervalMs: 0 };
  }

  plan(req: DeliveryRequest, _to: Recipient, _conn: Connection, _now: number): SendPlan {
    const part: RealtimePart = {
      text: req.text,
      ...(req.quickReplies?.length ? { quickReplies: req.quickReplies } : {}),
      ...(req.citations?.length ? { citations: req.citations } : {}),
      key: `out:${req.id ?? stableUuid(`delivery:${JSON.stringify(req)}`)}`,
      role: req.purpose === "creator_reply" ? "creator" : "assistant",
      purpose: req.purpose,
    };
    return { parts: [part] };
  }

  async send(part: OutboundPart, to: Recipient, conn: Connection) {
    const p = part as RealtimePart;
    const { message } = await appendMessage(this.o.pool, {
      creatorId: conn.creatorId,
      endUserId: to.endUserId,
      key: p.key,
      role: p.role,
      body: {
        text: p.text,
        quickReplies: p.quickReplies,
        citations: p.citations,
        purpose: p.purpose,
      },
    });
    this.o.hub.publish(to.endUserId, { type: "message", message, sentAt: Date.now() });
    return { providerMessageId: realtimeMessageId(to.endUserId, message.id) };
  }

  typing(to: Recipient, _conn: Connection): Promise<void> {
    this.o.hub.publish(to.endUserId, { type: "typing", on: true, by: "coach" });
    return Promise.resolve();
  }
}

/** The provider message id of a real-time message: the person and their message number. */
export const realtimeMessageId = (endUserId: string, seq: number) => `rt:${endUserId}:${seq}`;
