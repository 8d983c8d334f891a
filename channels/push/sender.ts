/**
 * What a push provider folder implements (FCM, APNs, Web Push): send one notification to one
 * device, and say in its errors whether the token is dead (prune it), the provider asks us to
 * come back later (retry, after Retry-After when given), or the request failed for good.
 */
import type { PushProvider } from "./store.ts";

export interface PushMessage {
  title: string;
  body: string;
  /** Small key/value data the app reads when opened (delivery id, conversation). */
  data?: Record<string, string>;
}

export interface PushSender {
  readonly provider: PushProvider;
  /** @returns the provider's id for the notification */
  send(token: string, message: PushMessage): Promise<{ id: string }>;
}

/** The provider says the token is no longer valid: the registration is pruned. */
export class PushTokenInvalidError extends Error {
  constructor(readonly provider: PushProvider, readonly reason: string) {
    super(`${provider} refused the device token: ${reason}`);
    this.name = "PushTokenInvalidError";
  }
}

/** Rate limited or unavailable: try again, not before `retryAfterMs` when the provider said. */
export class PushRetryableError extends Error {
  constructor(
    readonly provider: PushProvider,
    readonly status: number,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(`${provider} answered ${status}: ${message}`);
    this.name = "PushRetryableError";
  }
}

/** Anything else the provider refused (bad credentials, a malformed request). */
export class PushRejectedError extends Error {
  constructor(readonly provider: PushProvider, readonly status: number, message: string) {
    super(`${provider} answered ${status}: ${message}`);
    this.name = "PushRejectedError";
  }
}

/** Retry-After in ms (delta seconds or an HTTP date), undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
