/**
 * Delivery statuses of real-time messages: a message written to one of the person's sockets is
 * `delivered`, one they saw in the open panel `read`. They take the providers' way (the events
 * stream, then the status worker moves the delivery row forward), named by the message's
 * provider id; repeats from several sockets are stored once.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../../runtime/mod.ts";
import { publishStatus } from "../core/statuses.ts";
import { realtimeMessageId } from "./sender.ts";
import type { DeliveryNotice } from "./socket.ts";

export function realtimeDeliveryNotices(
  o: { nc: NatsConnection; prefix: string; log: Logger },
): DeliveryNotice {
  return (p, endUserId, seq, status) => {
    publishStatus(o.nc, o.prefix, {
      creatorId: p.creatorId,
      connectionId: p.connectionId,
      channel: p.channel,
      providerMessageId: realtimeMessageId(endUserId, seq),
      status,
      at: Date.now(),
    }).catch((err) => o.log.warn("real-time status not published", { error: String(err) }));
  };
}
