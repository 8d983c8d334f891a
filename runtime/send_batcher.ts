import { setImmediate } from "node:timers";

/**
 * Collects small socket writes (publishes, acks, replies) made from many tasks and runs them
 * together once the event loop has run the current round of I/O callbacks, so the NATS client
 * sends them in one write. On loopback a write costs about as much CPU as the rest of a turn.
 */
export class SendBatcher {
  #queue: (() => void)[] = [];

  /** Runs `send` soon, together with every other send queued before then. */
  defer(send: () => void): void {
    this.#queue.push(send);
    // After the current round of I/O callbacks: everything they queued goes in one write.
    if (this.#queue.length === 1) setImmediate(() => this.flush());
  }

  /** Runs every queued send now. */
  flush(): void {
    const queue = this.#queue;
    this.#queue = [];
    for (const send of queue) {
      try {
        send();
      } catch {
        // A closed connection: JetStream redelivers what was not acked, and askers time out.
      }
    }
  }
}
