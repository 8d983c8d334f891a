import type { AnyActorDefinition } from "./actor.ts";
import type { JsMsg } from "./partition_consumer.ts";

/** One message waiting for, or in, a turn. */
export interface Item {
  subject: string;
  data: Uint8Array;
  headers: Record<string, string>;
  msgId: string;
  /** `messageKey(msgId)`: what dedupes a redelivery or a second copy; 0 for timer firings. */
  key: number;
  deliveryCount: number;
  receivedAt: number;
  js?: JsMsg;
  /** In-memory timer firing: no JetStream message behind it. */
  local?: { kind: string; data: unknown };
}

/** An actor in memory: its state as of the last commit and its queue of messages. */
export interface Activation {
  key: string;
  type: string;
  id: string;
  partition: number;
  /** The partition epoch this activation's state was loaded under. */
  epoch: number;
  def: AnyActorDefinition;
  loaded: boolean;
  state: unknown;
  version: number;
  /** Keys of the last messages applied (dedupe of redeliveries and second copies). */
  recent: number[];
  queue: Item[];
  running: boolean;
  lastUsed: number;
  /** Created on first use: most activations never set a timer. */
  timers?: Map<string, number>;
}

/**
 * Resident actors, least recently used first (a Map keeps insertion order; a touch re-inserts).
 * Busy actors are never evicted, so the bound can be exceeded while all of them are busy.
 */
export class Activations {
  readonly #map = new Map<string, Activation>();
  constructor(
    private readonly maxResident: number,
    private readonly onEvict: (a: Activation) => void,
  ) {}

  get size(): number {
    return this.#map.size;
  }

  get(key: string): Activation | undefined {
    return this.#map.get(key);
  }

  touch(a: Activation): void {
    this.#map.delete(a.key);
    this.#map.set(a.key, a);
  }

  add(a: Activation): void {
    this.#map.set(a.key, a);
    if (this.#map.size <= this.maxResident) return;
    for (const candidate of this.#map.values()) {
      if (this.#map.size <= this.maxResident) break;
      if (isIdle(candidate) && candidate !== a) this.remove(candidate);
    }
  }

  remove(a: Activation): void {
    if (this.#map.get(a.key) !== a) return;
    this.#map.delete(a.key);
    this.onEvict(a);
  }

  /** Passivates actors idle since before `cutoff`. */
  passivateIdle(cutoff: number): number {
    let n = 0;
    for (const a of [...this.#map.values()]) {
      if (isIdle(a) && a.lastUsed < cutoff) {
        this.remove(a);
        n++;
      }
    }
    return n;
  }

  inPartition(partition: number): Activation[] {
    return [...this.#map.values()].filter((a) => a.partition === partition);
  }

  all(): IterableIterator<Activation> {
    return this.#map.values();
  }
}

export function isIdle(a: Activation): boolean {
  return !a.running && a.queue.length === 0;
}
