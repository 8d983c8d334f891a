/**
 * Delivery to the mobile app (and the push fallback of any real-time channel): a person with a
 * live socket gets the message over it; otherwise it goes out as a push notification to each of
 * their devices. Either way the message is in their history (the conversation records), which
 * the app reads when it opens.
 */
import type { DeliveryRequest } from "../../actors/mod.ts";
import type { Connection } from "../core/connections.ts";
import type { ChannelSender, OutboundPart, Recipient, SendPlan } from "../core/sender.ts";
import type { PushDispatcher } from "../push/dispatch.ts";

/** Does this end user hold a live socket anywhere in the cluster? */
export interface Presence {
  isLive(creatorId: string, endUserId: string): Promise<boolean>;
}

/** Nobody is ever online: every message goes out as a push. */
export const nobodyOnline: Presence = { isLive: () => Promise.resolve(false) };

/** Sends one part over the person's live socket(s). */
export interface SocketSink {
  send(part: OutboundPart, to: Recipient, conn: Connection): Promise<{ providerMessageId: string }>;
}

/** A push notification's body is a preview; the app shows the whole message from history. */
const PREVIEW_CHARS = 180;

export function pushPreview(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= PREVIEW_CHARS ? flat : `${flat.slice(0, PREVIEW_CHARS - 1)}…`;
}

export interface RealtimeOptions {
  kind: "mobile_app" | "web_widget";
  presence: Presence;
  push: PushDispatcher;
  /** Absent: no socket endpoint on this node yet; everything goes out as push. */
  socket?: SocketSink;
}

/** Socket when live, push otherwise. */
export async function sendRealtime(
  o: Omit<RealtimeOptions, "kind">,
  part: OutboundPart,
  to: Recipient,
  conn: Connection,
): Promise<{ providerMessageId: string }> {
  if (o.socket && await o.presence.isLive(conn.creatorId, to.endUserId)) {
    return await o.socket.send(part, to, conn);
  }
  const outcome = await o.push.notify(conn.creatorId, to.endUserId, {
    title: conn.name,
    body: pushPreview(part.text),
    data: { kind: "message" },
  });
  // Kept in the history either way; the id says how far it got.
  return { providerMessageId: outcome.sent > 0 ? `push:${outcome.sent}` : "history" };
}

export class MobileAppSender implements ChannelSender {
  readonly kind: string;
  constructor(private readonly o: RealtimeOptions) {
    this.kind = o.kind;
  }

  limits(_conn: Connection) {
    // No provider rate to respect per connection; per device, one message at a time is enough.
    return { perSecond: 1000, chatIntervalMs: 0 };
  }

  plan(req: DeliveryRequest, _to: Recipient, _conn: Connection): SendPlan {
    return { parts: [{ text: req.text, quickReplies: req.quickReplies }] };
  }

  send(part: OutboundPart, to: Recipient, conn: Connection) {
    return sendRealtime(this.o, part, to, conn);
  }
}
