import type { NatsConnection } from "@nats-io/transport-node";
import type { Item } from "./activations.ts";
import type { DeadLetters } from "./dead_letters.ts";
import { encodeJson, H, type ReplyBody } from "./envelope.ts";
import type { RemoteError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { RuntimeMetrics } from "./metrics.ts";
import type { SendBatcher } from "./send_batcher.ts";

/** Why a message is dead-lettered, and what its asker is told. */
export interface Rejection {
  /** Recorded with the dead letter (`Coachd-Dead-Reason`). */
  reason: string;
  /** Metrics label (`coachd_dead_letters_total{reason}`). */
  label: string;
  /** The error behind it: its name, code and message reach the `ask` caller. */
  error: { name: string; message: string; code?: string };
}

/** The name, message and code of whatever a handler threw. */
export function errorInfo(err: unknown): Rejection["error"] {
  if (!(err instanceof Error)) return { name: "Error", message: String(err) };
  const code = (err as { code?: unknown }).code;
  return {
    name: err.name,
    message: err.message,
    code: typeof code === "string" || typeof code === "number" ? String(code) : undefined,
  };
}

/**
 * Settles messages once their turn is over: acknowledges them to JetStream, replies to their
 * asker, or dead-letters them. Acks and replies leave through the shared send batcher, so a round
 * of turns costs one socket write. Also keeps messages still in a turn from being redelivered.
 */
export class MessageSettler {
  /** Messages delivered and not yet settled. */
  readonly held = new Set<Item>();
  readonly #nc: NatsConnection;
  readonly #sends: SendBatcher;
  readonly #deadLetters: DeadLetters;
  readonly #metrics: RuntimeMetrics;
  readonly #log: Logger;

  constructor(
    { nc, sends, deadLetters, metrics, log }: {
      nc: NatsConnection;
      /** The client's batcher: acks and replies leave with its publishes. */
      sends: SendBatcher;
      deadLetters: DeadLetters;
      metrics: RuntimeMetrics;
      log: Logger;
    },
  ) {
    this.#nc = nc;
    this.#sends = sends;
    this.#deadLetters = deadLetters;
    this.#metrics = metrics;
    this.#log = log;
  }

  /** Acknowledges the message: JetStream removes it from the mailbox. */
  finish(item: Item): void {
    this.held.delete(item);
    const js = item.js;
    if (js) this.#sends.defer(() => js.ack());
  }

  /** Forgets the message without acking it: JetStream redelivers it (to the next owner). */
  abandon(item: Item): void {
    this.held.delete(item);
  }

  /** Replies to the message's asker, if it has one. */
  reply(item: Item, body: ReplyBody): void {
    const to = item.headers[H.reply];
    if (!to) return;
    const data = encodeJson(body);
    this.#sends.defer(() => this.#nc.publish(to, data));
  }

  /** Stores the message on the dead-letter stream, acks it and tells its asker why. */
  async deadLetter(item: Item, rejection: Rejection): Promise<void> {
    const { reason, label, error } = rejection;
    if (!item.js) {
      this.#log.warn("timer turn rejected", { reason });
      return;
    }
    await this.#deadLetters.put({
      subject: item.subject,
      data: item.data,
      headers: item.headers,
      reason,
    });
    this.#metrics.deadLetters.inc({ reason: label });
    this.#log.warn("message dead-lettered", { subject: item.subject, reason });
    this.finish(item);
    const err: RemoteError = { name: error.name, message: error.message, reason };
    if (error.code !== undefined) err.code = error.code;
    this.reply(item, { err });
  }

  /**
   * Tells JetStream that messages held longer than `olderThanMs` are still being worked on, so it
   * does not redeliver them (in real time: the server keeps the ack wait in real time).
   */
  keepAlive(olderThanMs: number): void {
    const cutoff = performance.now() - olderThanMs;
    for (const item of this.held) if (item.receivedAt < cutoff) item.js?.working();
  }
}
