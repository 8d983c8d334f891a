/**
 * Presence for the push fallback, asked on the real-time hub's subject: an answer means a live
 * socket; "no responders" (nobody holds a socket of the person) means none, at once. Unlike the
 * hub's own check, a request that times out counts as live: a subscriber exists, so a socket
 * exists on a node that is only slow to answer, and the message has reached it through the
 * fan-out already.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { personSubject } from "../widget/hub.ts";
import type { Presence } from "./sender.ts";

export function socketPresence(
  o: { nc: NatsConnection; prefix: string; timeoutMs?: number },
): Presence {
  return {
    async isLive(endUserId: string): Promise<boolean> {
      try {
        await o.nc.request(`${personSubject(o.prefix, endUserId)}.presence`, "", {
          timeout: o.timeoutMs ?? 1000,
        });
        return true;
      } catch (err) {
        const noResponders = (err as { isNoResponders?: () => boolean }).isNoResponders?.();
        return !noResponders && (err as Error).name === "TimeoutError";
      }
    },
  };
}
