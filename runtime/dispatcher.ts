import type { AnyActorDefinition } from "./actor.ts";
import { type Activation, type Activations, isIdle, type Item } from "./activations.ts";
import { messageKey, parseMailboxSubject } from "./address.ts";
import { type Clock, sleep } from "./clock.ts";
import { H, headersToRecord } from "./envelope.ts";
import { UnknownActorTypeError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { RuntimeMetrics } from "./metrics.ts";
import type { JsMsg } from "./partition_consumer.ts";
import { errorInfo, type MessageSettler } from "./settler.ts";
import type { TurnExecutor } from "./turn_executor.ts";

export interface DispatcherDeps {
  prefix: string;
  defs: ReadonlyMap<string, AnyActorDefinition>;
  activations: Activations;
  settler: MessageSettler;
  executor: TurnExecutor;
  clock: Clock;
  metrics: RuntimeMetrics;
  log: Logger;
  /** Aborted when the node stops: a retrying actor leaves its messages for redelivery. */
  halt: AbortSignal;
}

/**
 * Routes each delivered message to its actor's activation (creating it on first use) and runs
 * every activation's queue one turn at a time, in order, while different actors run
 * concurrently. A turn that fails on infrastructure (Postgres or NATS unreachable, a conflicting
 * write) is retried in place after reloading the state, so nothing overtakes it.
 */
export class Dispatcher {
  readonly #d: DispatcherDeps;
  readonly #idleWaiters = new Set<() => void>();

  constructor(deps: DispatcherDeps) {
    this.#d = deps;
  }

  /** Queues a message of an owned partition, held at `epoch`. */
  dispatch(m: JsMsg, partition: number, epoch: number): void {
    const d = this.#d;
    const headers = headersToRecord(m.headers);
    const msgId = headers[H.msgId] ?? `seq:${m.seq}`;
    const item: Item = {
      subject: m.subject,
      data: m.data,
      headers,
      msgId,
      key: messageKey(msgId),
      deliveryCount: m.info.deliveryCount,
      receivedAt: performance.now(),
      js: m,
    };
    const address = parseMailboxSubject(d.prefix, m.subject);
    if (!address || address.partition !== partition) {
      const reason = `unroutable subject ${m.subject}`;
      void d.settler.deadLetter(item, {
        reason,
        label: "unroutable",
        error: { name: "DeadLettered", message: reason },
      });
      return;
    }
    const def = d.defs.get(address.type);
    if (!def) {
      const err = new UnknownActorTypeError(address.type);
      void d.settler.deadLetter(item, {
        reason: err.message,
        label: "unknown_type",
        error: errorInfo(err),
      });
      return;
    }
    const key = `${address.type}/${address.id}`;
    let act = d.activations.get(key);
    if (act && act.epoch !== epoch) {
      d.activations.remove(act);
      act = undefined;
    }
    if (!act) {
      act = {
        key,
        type: address.type,
        id: address.id,
        partition,
        epoch,
        def,
        loaded: false,
        state: undefined,
        version: 0,
        recent: [],
        queue: [],
        running: false,
        lastUsed: d.clock.now(),
      };
      d.activations.add(act);
      d.metrics.resident.set(d.activations.size);
    } else {
      d.activations.touch(act);
    }
    d.settler.held.add(item);
    this.enqueue(act, item);
  }

  /** Queues an item on an activation and runs it if it is idle. */
  enqueue(act: Activation, item: Item): void {
    act.queue.push(item);
    if (!act.running) void this.#run(act);
  }

  /**
   * Resolves once none of `acts` is running or has messages queued, or after `timeoutMs` of real
   * time (a drain's deadline is the platform's, not the actors' clock).
   */
  whenIdle(acts: Activation[], timeoutMs: number): Promise<void> {
    const busy = () => acts.some((a) => !isIdle(a));
    if (!busy()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (busy()) return;
        done();
      };
      const done = () => {
        clearTimeout(timer);
        this.#idleWaiters.delete(check);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#idleWaiters.add(check);
    });
  }

  async #run(act: Activation) {
    const d = this.#d;
    act.running = true;
    try {
      let failures = 0;
      while (act.queue.length > 0) {
        const item = act.queue.shift()!;
        try {
          await d.executor.run(act, item);
          failures = 0;
        } catch (err) {
          failures++;
          d.log.error("turn failed; retrying", {
            actor: act.key,
            attempt: failures,
            error: String(err),
          });
          act.loaded = false;
          act.queue.unshift(item);
          item.js?.working();
          await sleep(d.clock, Math.min(5000, 100 * 2 ** failures), d.halt);
          if (d.activations.get(act.key) !== act || d.halt.aborted) {
            // The partition moved or the node stops: leave the messages unacked for redelivery.
            for (const rest of act.queue.splice(0)) d.settler.abandon(rest);
            return;
          }
        }
      }
    } finally {
      act.running = false;
      act.lastUsed = d.clock.now();
      if (this.#idleWaiters.size > 0) { for (const check of [...this.#idleWaiters]) check(); }
    }
  }
}
