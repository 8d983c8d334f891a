/**
 * The one way the UserActor reaches out to a person on its own: program steps, badges and
 * achievements, nudges. Every proactive message goes through `sendToUser`, so the rules that
 * decide whether one may go out now (opt-out, quiet hours, caps, channel windows) have one place
 * to live. Replies to what the person just sent (answers, command notices) do not come here.
 */
import type { TurnContext } from "../../runtime/mod.ts";
import { parseTenantActorId, turnUuid } from "../ids.ts";
import {
  DELIVERY_SUBJECT,
  type DeliveryPurpose,
  type DeliveryRequest,
} from "../contracts/delivery.ts";
import type { ChannelState } from "./inbound.ts";
import type { StoredPreferences } from "./preferences.ts";

export interface OutboundMessage {
  text: string;
  /** Quick replies shown with the message (their payload comes back as a button reply). */
  buttons?: { label: string; payload: string }[];
  purpose: DeliveryPurpose;
  /** Names the message within its turn: the delivery's id derives from it and the turn. */
  key: string;
  /** Body variables of a WhatsApp template, for a send outside the 24-hour window. */
  templateVariables?: string[];
}

/**
 * What became of a message. Not sent with a `retryAt`: it may go out then (a program step is held
 * and runs again at that time); without one, it will not (a program goes on without it).
 */
export type SendResult =
  | { sent: true; deliveryId: string; identityId?: string }
  | { sent: false; reason: string; retryAt?: number };

interface OutboundState {
  channels: ChannelState;
  preferences?: StoredPreferences;
}

/**
 * Sends a proactive message to the person, on the identity they were last active on (on their
 * chosen nudge channel when they chose one). The delivery leaves with the turn's commit.
 */
export function sendToUser<S extends OutboundState>(
  ctx: TurnContext<S>,
  m: OutboundMessage,
): SendResult {
  const { creatorId, localId: endUserId } = parseTenantActorId(ctx.self.id);
  const identityId = lastActiveIdentity(ctx.state);
  const request: DeliveryRequest = {
    id: turnUuid(ctx, `delivery:${m.key}`),
    creatorId,
    endUserId,
    ...(identityId ? { identityId } : {}),
    purpose: m.purpose,
    text: m.text,
    ...(m.buttons?.length ? { quickReplies: m.buttons.slice(0, 10) } : {}),
    ...(m.templateVariables ? { templateVariables: m.templateVariables } : {}),
  };
  ctx.emit(DELIVERY_SUBJECT, request);
  return { sent: true, deliveryId: request.id!, ...(identityId ? { identityId } : {}) };
}

/**
 * The identity the person last wrote from (on their nudge channel, when set); undefined when
 * they never wrote, and the delivery worker picks their most recent reachable one.
 */
export function lastActiveIdentity(s: OutboundState): string | undefined {
  const wanted = s.preferences?.nudgeChannel;
  let best: { id: string; at: number } | undefined;
  for (const [id, i] of Object.entries(s.channels.identities)) {
    if (wanted && i.channel !== wanted) continue;
    if (!best || i.lastInboundAt > best.at) best = { id, at: i.lastInboundAt };
  }
  if (!best && wanted) return lastActiveIdentity({ channels: s.channels });
  return best?.id;
}
