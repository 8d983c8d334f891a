import type { Activation, Item } from "./activations.ts";
import type { Clock } from "./clock.ts";
import type { PendingTimer } from "./turn_context.ts";

/**
 * `ctx.setTimer` timers: in memory, on the runtime clock, owned by one activation (lost when it
 * passivates or its partition moves). A firing becomes a local message in the actor's queue.
 */
export class ActorTimers {
  readonly #clock: Clock;
  readonly #isCurrent: (act: Activation) => boolean;
  readonly #enqueue: (act: Activation, item: Item) => void;

  /**
   * @param isCurrent whether the activation is still the resident one (a firing for a passivated
   *   activation is dropped)
   * @param enqueue queues a firing and runs the actor if it is idle
   */
  constructor(
    clock: Clock,
    isCurrent: (act: Activation) => boolean,
    enqueue: (act: Activation, item: Item) => void,
  ) {
    this.#clock = clock;
    this.#isCurrent = isCurrent;
    this.#enqueue = enqueue;
  }

  /** Sets (or, with `null`, clears) the activation's timer `name`, replacing one of that name. */
  set(act: Activation, name: string, t: PendingTimer | null): void {
    const timers = act.timers ??= new Map();
    const old = timers.get(name);
    if (old !== undefined) this.#clock.clearTimeout(old);
    timers.delete(name);
    if (t === null) return;
    timers.set(
      name,
      this.#clock.setTimeout(() => {
        timers.delete(name);
        if (!this.#isCurrent(act)) return;
        this.#enqueue(act, {
          subject: "",
          data: new Uint8Array(),
          headers: {},
          msgId: `timer:${name}:${crypto.randomUUID()}`,
          key: 0,
          deliveryCount: 1,
          receivedAt: performance.now(),
          local: { kind: t.kind, data: t.data },
        });
      }, t.delayMs),
    );
  }

  /** Clears every timer of an activation that leaves memory. */
  clearAll(act: Activation): void {
    for (const t of act.timers?.values() ?? []) this.#clock.clearTimeout(t);
  }
}
