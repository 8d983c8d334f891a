import type { Subscription } from "@nats-io/transport-node";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { Activation, Activations } from "./activations.ts";
import type { Clock } from "./clock.ts";
import type { Logger } from "./logger.ts";
import type { Membership } from "./membership.ts";
import type { RuntimeMetrics } from "./metrics.ts";
import type { ResolvedOptions } from "./options.ts";
import {
  consumePartition,
  consumerName,
  type JsMsg,
  type PartitionConsumer,
} from "./partition_consumer.ts";
import type { ReminderScheduler } from "./reminders.ts";
import type { Ownership } from "./turn_commit.ts";

interface OwnedPartition {
  partition: number;
  epoch: number;
  consumer?: PartitionConsumer;
  /** Being handed over or drained: no new messages, no retake until released. */
  releasing?: boolean;
}

export interface PartitionHostDeps {
  o: ResolvedOptions;
  js: JetStreamClient;
  jsm: JetStreamManager;
  mailboxStream: string;
  membership: Membership;
  reminders: ReminderScheduler;
  activations: Activations;
  /** Hands a message of an owned partition to its actor (`Dispatcher.dispatch`). */
  dispatch: (m: JsMsg, partition: number, epoch: number) => void;
  /** `Dispatcher.whenIdle`. */
  whenIdle: (acts: Activation[], timeoutMs: number) => Promise<void>;
  metrics: RuntimeMetrics;
  log: Logger;
  clock: Clock;
  /** Aborted when the node stops. */
  halt: AbortSignal;
}

/**
 * The partitions this node owns. Each membership round (heartbeat, lease renewal) says which
 * partitions to take, which were lost and which to hand over to their preferred node; a taken
 * partition gets its mailbox consumer and reminder window, a lost one is dropped at once, and a
 * handed-over one stops fetching, finishes its queued turns and releases its lease.
 */
export class PartitionHost implements Ownership {
  readonly #d: PartitionHostDeps;
  readonly #owned = new Map<number, OwnedPartition>();
  #roundRunning?: Promise<void>;
  #draining = false;
  #sub?: Subscription;

  constructor(deps: PartitionHostDeps) {
    this.#d = deps;
  }

  /** Joins the cluster and takes this node's first partitions. */
  async start(): Promise<void> {
    const { o, membership } = this.#d;
    await membership.register();
    this.#sub = o.nc.subscribe(`${o.prefix}.ctl.rebalance`, { callback: () => void this.round() });
    await this.round();
  }

  /** Owned partitions, ascending. */
  get partitions(): number[] {
    return [...this.#owned.keys()].sort((a, b) => a - b);
  }

  epochOf(partition: number): number | undefined {
    return this.#d.membership.owned.get(partition);
  }

  /** The durable consumer name of an owned partition's mailbox. */
  consumerOf(partition: number): string | undefined {
    const owned = this.#owned.get(partition);
    return owned ? consumerName(this.#d.o.prefix, partition, owned.epoch) : undefined;
  }

  /** Runs one membership round now, or joins the one running. */
  round(): Promise<void> {
    this.#roundRunning ??= this.#doRound().finally(() => this.#roundRunning = undefined);
    return this.#roundRunning;
  }

  async #doRound() {
    const { membership, metrics, halt } = this.#d;
    if (halt.aborted) return;
    const releasing = new Set(
      [...this.#owned.values()].filter((p) => p.releasing).map((p) => p.partition),
    );
    const plan = await membership.round({ draining: this.#draining, blocked: releasing });
    for (const p of plan.lost) this.lose(p, "lease lost");
    await Promise.all([...plan.taken].map(([p, epoch]) => this.#take(p, epoch)));
    for (const p of plan.handOver) void this.#handOver(p);
    metrics.ownedPartitions.set(membership.owned.size);
  }

  async #take(partition: number, epoch: number) {
    const d = this.#d;
    const owned: OwnedPartition = { partition, epoch };
    this.#owned.set(partition, owned);
    d.reminders.owned.add(partition);
    try {
      owned.consumer = await consumePartition(d.jsm, d.js, {
        stream: d.mailboxStream,
        prefix: d.o.prefix,
        partition,
        epoch,
        ackWaitMs: d.o.ackWaitMs,
        maxAckPending: d.o.maxAckPending,
        clock: d.clock,
        log: d.log,
        halt: d.halt,
        isCurrent: () =>
          this.#owned.get(partition) === owned && !owned.releasing && !d.halt.aborted,
        onMessage: (m) => d.dispatch(m, partition, epoch),
      });
      await d.reminders.load([partition]);
      d.log.debug("took partition", { partition, epoch });
    } catch (err) {
      d.log.error("could not open partition consumer; releasing it", {
        partition,
        error: String(err),
      });
      this.lose(partition, "consumer failed");
      await d.membership.release([{ partition, epoch }]).catch(() => {});
    }
  }

  lose(partition: number, why: string): void {
    const d = this.#d;
    const owned = this.#owned.get(partition);
    if (!owned) return;
    this.#owned.delete(partition);
    d.membership.owned.delete(partition);
    owned.consumer?.stop();
    for (const a of d.activations.inPartition(partition)) d.activations.remove(a);
    d.reminders.dropPartitions([partition]);
    d.log.info("partition dropped", { partition, why });
  }

  /** Stops fetching, lets queued turns finish, then releases the lease for the preferred node. */
  async #handOver(partition: number) {
    const d = this.#d;
    const owned = this.#owned.get(partition);
    if (!owned || owned.releasing) return;
    owned.releasing = true;
    owned.consumer?.stop();
    await d.whenIdle(d.activations.inPartition(partition), d.o.ackWaitMs);
    this.lose(partition, "handed over");
    await d.membership.release([{ partition, epoch: owned.epoch }]).catch((err) =>
      d.log.warn("release failed; the lease will expire", { partition, error: String(err) })
    );
  }

  /**
   * First half of a graceful stop: tells the cluster this node drains, stops fetching everywhere
   * and waits (up to `timeoutMs`) for the turns in memory to finish.
   */
  async drain(timeoutMs: number): Promise<void> {
    const d = this.#d;
    this.#draining = true;
    await this.#roundRunning;
    await d.membership.round({ draining: true }).catch(() => {});
    for (const owned of this.#owned.values()) {
      owned.releasing = true;
      owned.consumer?.stop();
    }
    await d.whenIdle([...d.activations.all()], timeoutMs);
  }

  /** Second half, once the node has halted: releases every lease and leaves the cluster. */
  async leave(): Promise<void> {
    const d = this.#d;
    this.#sub?.unsubscribe();
    await Promise.all([...this.#owned.values()].map((o) => o.consumer?.done));
    await d.membership.leave().catch((err) => d.log.warn("leave failed", { error: String(err) }));
    for (const a of [...d.activations.all()]) d.activations.remove(a);
  }

  /** Stops fetching and listening at once, releasing nothing (a crash). */
  crash(): void {
    this.#sub?.unsubscribe();
    for (const o of this.#owned.values()) o.consumer?.stop();
  }
}
