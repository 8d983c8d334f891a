/**
 * A channel sender behind its provider's breaker (see knowledge's `ProviderBreaker`). For the
 * delivery worker an open breaker is a retry later, never a failure: the send was not tried, so
 * it counts no attempt, and the wait is the time until the breaker lets a trial through, for the
 * whole connection. A call past its deadline is retried too (the provider may have sent it;
 * deliveries are at least once). Only the provider failing opens the breaker: server and network
 * errors and timeouts, not a refusal of one request or a rate limit.
 */
import {
  type ProviderBreaker,
  ProviderTimeoutError,
  ProviderUnavailableError,
} from "../../knowledge/mod.ts";
import { type ChannelSender, ProviderError } from "./sender.ts";

/** Whether an error of a sender means the provider itself is failing. */
export function providerFailing(err: unknown): boolean {
  if (!(err instanceof ProviderError)) return true;
  return err.kind === "retry" && err.details.retryAfterMs === undefined;
}

export function guardSender(inner: ChannelSender, breaker: ProviderBreaker): ChannelSender {
  return {
    kind: inner.kind,
    limits: (conn) => inner.limits(conn),
    plan: (req, to, conn, now) => inner.plan(req, to, conn, now),
    send: async (part, to, conn) => {
      try {
        return await breaker.execute(() => inner.send(part, to, conn));
      } catch (err) {
        if (err instanceof ProviderUnavailableError) {
          throw new ProviderError("retry", err.message, {
            code: "circuit_open",
            retryAfterMs: Math.max(1000, err.retryAfterMs),
            connectionWide: true,
            notAttempted: true,
          });
        }
        if (err instanceof ProviderTimeoutError) {
          throw new ProviderError("retry", err.message, { code: "timeout" });
        }
        throw err;
      }
    },
    ...(inner.typing
      ? {
        // Best effort: not while the provider is known to be down.
        typing: async (to, conn, inReplyTo) => {
          if (breaker.state === "open") return;
          await inner.typing!(to, conn, inReplyTo);
        },
      }
      : {}),
  };
}
