/**
 * Cross-node fan-out of real-time events: whatever node sends a person a message publishes it on
 * the core NATS subject of that person, and every node holding one of their sockets receives it
 * (one subscription per person per node, shared by their sockets there). The same subscription
 * answers presence requests, so "does this person have a live socket anywhere?" is one request:
 * an answer means yes, NATS' "no responders" means no, at once.
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { RealtimeMessage } from "./log.ts";

/** What travels to a person's sockets. */
export type HubEvent =
  | { type: "message"; message: RealtimeMessage; sentAt: number }
  | { type: "typing"; on: boolean; by: "coach" | "creator" };

/** `<prefix>.rt.u.<end user id>`: events at `.ev`, presence requests at `.presence`. */
export const personSubject = (prefix: string, endUserId: string) => `${prefix}.rt.u.${endUserId}`;

/** Whether a person has a live socket on some node. */
export interface Presence {
  isLive(endUserId: string): Promise<boolean>;
}

export class RealtimeHub implements Presence, Disposable {
  readonly #people = new Map<
    string,
    { sub: Subscription; listeners: Set<(e: HubEvent) => void> }
  >();

  constructor(
    private readonly o: { nc: NatsConnection; prefix: string; nodeId: string },
  ) {}

  /** Calls `fn` with each event for the person until the returned handle is disposed. */
  listen(endUserId: string, fn: (e: HubEvent) => void): Disposable {
    let entry = this.#people.get(endUserId);
    if (!entry) {
      const listeners = new Set<(e: HubEvent) => void>();
      const base = personSubject(this.o.prefix, endUserId);
      const sub = this.o.nc.subscribe(`${base}.*`, {
        callback: (err, msg) => {
          if (err) return;
          if (msg.subject.endsWith(".presence")) {
            msg.respond(JSON.stringify({ node: this.o.nodeId, sockets: listeners.size }));
            return;
          }
          let event: HubEvent;
          try {
            event = msg.json<HubEvent>();
          } catch {
            return;
          }
          for (const l of listeners) l(event);
        },
      });
      entry = { sub, listeners };
      this.#people.set(endUserId, entry);
    }
    const listeners = entry.listeners;
    listeners.add(fn);
    return {
      [Symbol.dispose]: () => {
        listeners.delete(fn);
        const cur = this.#people.get(endUserId);
        if (cur && cur.listeners.size === 0) {
          cur.sub.unsubscribe();
          this.#people.delete(endUserId);
        }
      },
    };
  }

  publish(endUserId: string, event: HubEvent): void {
    this.o.nc.publish(`${personSubject(this.o.prefix, endUserId)}.ev`, JSON.stringify(event));
  }

  /** True when some node holds a socket of the person (answers within `timeoutMs`, default 500). */
  async isLive(endUserId: string, { timeoutMs = 500 } = {}): Promise<boolean> {
    try {
      await this.o.nc.request(`${personSubject(this.o.prefix, endUserId)}.presence`, "", {
        timeout: timeoutMs,
      });
      return true;
    } catch {
      // No responders (nobody subscribed) or no answer in time: no live socket.
      return false;
    }
  }

  /** People with a socket on this node. */
  get people(): number {
    return this.#people.size;
  }

  [Symbol.dispose](): void {
    for (const { sub } of this.#people.values()) sub.unsubscribe();
    this.#people.clear();
  }
}
