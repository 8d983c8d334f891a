/**
 * Collects small socket writes (publishes, acks, replies) made from many tasks and runs them
 * together on the next timer tick, so the NATS client sends them in one write. On loopback a
 * write costs about as much CPU as the rest of a turn; the price is under a millisecond of delay.
 */
export class SendBatcher {
  #queue: (() => void)[] = [];

  /** Runs `send` on the next tick, together with every other send queued before then. */
  defer(send: () => void): void {
    this.#queue.push(send);
    if (this.#queue.length === 1) setTimeout(() => this.flush(), 0);
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
