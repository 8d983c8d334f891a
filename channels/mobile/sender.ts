/**
 * The push fallback of the real-time channels (the mobile app, the web widget): the real-time
 * sender always sends (the person's message log and the cross-node fan-out, so a socket opened
 * later resumes with it), and when no socket of the person is live anywhere in the cluster, each
 * of their devices also gets a push notification with a preview.
 */
import type { DeliveryRequest } from "../../actors/mod.ts";
import type { Logger } from "../../runtime/mod.ts";
import type { Connection } from "../core/connections.ts";
import type { ChannelSender, OutboundPart, Recipient, SendPlan } from "../core/sender.ts";
import type { PushDispatcher } from "../push/dispatch.ts";

/** Does this end user hold a live socket anywhere in the cluster? (the real-time hub answers) */
export interface Presence {
  isLive(endUserId: string): Promise<boolean>;
}

/** Nobody is ever online: every message also goes out as a push. */
export const nobodyOnline: Presence = { isLive: () => Promise.resolve(false) };

/** A push notification's body is a preview; the app shows the whole message from history. */
const PREVIEW_CHARS = 180;

export function pushPreview(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= PREVIEW_CHARS ? flat : `${flat.slice(0, PREVIEW_CHARS - 1)}…`;
}

export class PushFallbackSender implements ChannelSender {
  readonly kind: string;
  constructor(
    private readonly inner: ChannelSender,
    private readonly o: { presence: Presence; push: PushDispatcher; log?: Logger },
  ) {
    this.kind = inner.kind;
  }

  limits(conn: Connection) {
    return this.inner.limits(conn);
  }

  plan(req: DeliveryRequest, to: Recipient, conn: Connection, now: number): SendPlan {
    return this.inner.plan(req, to, conn, now);
  }

  async send(part: OutboundPart, to: Recipient, conn: Connection) {
    const sent = await this.inner.send(part, to, conn);
    if (!(await this.o.presence.isLive(to.endUserId))) {
      const outcome = await this.o.push.notify(conn.creatorId, to.endUserId, {
        title: conn.name,
        body: pushPreview(part.text),
        data: { kind: "message", id: sent.providerMessageId },
      });
      if (outcome.failed > 0) {
        this.o.log?.warn("push fallback incomplete", { channel: this.kind, ...outcome });
      }
    }
    return sent;
  }

  typing(to: Recipient, conn: Connection, inReplyTo?: string): Promise<void> {
    return this.inner.typing?.(to, conn, inReplyTo) ?? Promise.resolve();
  }
}
