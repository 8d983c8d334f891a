/**
 * Sends one notification to every device of an end user through the sender of each device's
 * provider: a dead token is pruned, a rate-limited send waits for Retry-After (bounded) and
 * tries again, and one device failing never stops the others.
 */
import { type Clock, type Logger, realClock } from "../../runtime/mod.ts";
import {
  type PushMessage,
  PushRetryableError,
  type PushSender,
  PushTokenInvalidError,
} from "./sender.ts";
import type { PushProvider, PushTokenStore } from "./store.ts";

export interface PushOutcome {
  /** Devices that took the notification. */
  sent: number;
  /** Registrations removed because their provider called them invalid. */
  pruned: number;
  /** Devices that failed for another reason (after the retries). */
  failed: number;
  /** Devices without a configured sender for their provider. */
  unsupported: number;
}

export interface PushDispatcherOptions {
  store: PushTokenStore;
  senders: PushSender[];
  log: Logger;
  clock?: Clock;
  /** Tries per device when the provider asks us to retry (default 3). */
  maxAttempts?: number;
  /** Wait when no Retry-After is given, doubled each time (default 1 s). */
  retryDelayMs?: number;
  /** The longest Retry-After honoured here; longer ones fail the device (default 60 s). */
  maxRetryAfterMs?: number;
}

export class PushDispatcher {
  readonly #senders: Map<PushProvider, PushSender>;
  readonly #clock: Clock;
  constructor(private readonly o: PushDispatcherOptions) {
    this.#senders = new Map(o.senders.map((s) => [s.provider, s]));
    this.#clock = o.clock ?? realClock;
  }

  /** The providers this node can push through. */
  get providers(): PushProvider[] {
    return [...this.#senders.keys()];
  }

  async notify(creatorId: string, endUserId: string, message: PushMessage): Promise<PushOutcome> {
    const out: PushOutcome = { sent: 0, pruned: 0, failed: 0, unsupported: 0 };
    const targets = await this.o.store.targetsOf(creatorId, endUserId);
    await Promise.all(targets.map(async (t) => {
      const sender = this.#senders.get(t.provider);
      if (!sender) return void out.unsupported++;
      const result = await this.#sendOne(sender, t.token, message);
      if (result === "sent") {
        out.sent++;
        await this.o.store.used(creatorId, t.id);
      } else if (result === "invalid") {
        out.pruned++;
        await this.o.store.prune(creatorId, t.id);
      } else {
        out.failed++;
      }
    }));
    return out;
  }

  async #sendOne(
    sender: PushSender,
    token: string,
    message: PushMessage,
  ): Promise<"sent" | "invalid" | "failed"> {
    const max = this.o.maxAttempts ?? 3;
    for (let attempt = 1;; attempt++) {
      try {
        await sender.send(token, message);
        return "sent";
      } catch (err) {
        if (err instanceof PushTokenInvalidError) {
          this.o.log.info("push token pruned", { provider: sender.provider, reason: err.reason });
          return "invalid";
        }
        const retryable = err instanceof PushRetryableError;
        const wait = retryable
          ? err.retryAfterMs ?? (this.o.retryDelayMs ?? 1000) * 2 ** (attempt - 1)
          : 0;
        if (!retryable || attempt >= max || wait > (this.o.maxRetryAfterMs ?? 60_000)) {
          this.o.log.warn("push failed", {
            provider: sender.provider,
            attempt,
            error: err instanceof Error ? err.message : String(err),
          });
          return "failed";
        }
        await new Promise<void>((r) => this.#clock.setTimeout(r, wait));
      }
    }
  }
}
