import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { ActorAddress, AnyActorDefinition } from "./actor.ts";
import { checkAddress, mailboxSubject, partitionOf } from "./address.ts";
import { startAdminService } from "./admin_service.ts";
import { BackgroundTasks } from "./background.ts";
import type { ActorClient, ActorRef, AskOptions, StagedTell } from "./client.ts";
import { realClock } from "./clock.ts";
import type { DeadLetters } from "./dead_letters.ts";
import { SystemStoppingError, UnknownActorTypeError } from "./errors.ts";
import type { RuntimeMetrics } from "./metrics.ts";
import { assembleNode, type NodeParts } from "./node_parts.ts";
import { type ActorSystemOptions, type ResolvedOptions, resolveOptions } from "./options.ts";
import { ensureStreams, type StreamNames } from "./streams.ts";

/**
 * Hosts virtual actors: leases partitions, consumes their mailboxes, runs turns and commits them
 * in groups, relays the outbox and fires reminders. Start one per node; nodes sharing Postgres,
 * NATS and a prefix form one cluster. With `host: false` it only sends.
 *
 * This class is the node's lifecycle (start, background loops, drain, crash) and the surface a
 * node uses; `assembleNode` builds the parts (runtime/README.md says which file does what).
 */
export class ActorSystem implements AsyncDisposable {
  /** Sends messages; shared by everything on this node. */
  readonly client: ActorClient;
  /** This node's Prometheus metrics, in a registry of their own. */
  readonly metrics: RuntimeMetrics;
  /** This run's owner identity (`<nodeId>-<random>`): leases and commits are fenced by it. */
  readonly instance: string;
  /** The cluster's JetStream streams. */
  readonly streams: StreamNames;
  /** The dead-letter stream: list, replay. */
  readonly deadLetters: DeadLetters;
  readonly #o: ResolvedOptions;
  readonly #jsm: JetStreamManager;
  readonly #p: NodeParts;
  /** Loops on the runtime clock, and the one that must run in real time (JetStream keep-alive). */
  readonly #tasks: BackgroundTasks;
  readonly #realTimeTasks: BackgroundTasks;
  readonly #halt: AbortController;
  #draining = false;
  #ready = false;
  #adminStop?: () => Promise<void>;

  private constructor(
    o: ResolvedOptions,
    jsm: JetStreamManager,
    streams: StreamNames,
    parts: NodeParts,
    halt: AbortController,
  ) {
    this.#o = o;
    this.#jsm = jsm;
    this.streams = streams;
    this.#halt = halt;
    this.instance = parts.instance;
    this.metrics = parts.metrics;
    this.client = parts.client;
    this.deadLetters = parts.deadLetters;
    this.#p = parts;
    this.#tasks = new BackgroundTasks(o.clock, o.log);
    this.#realTimeTasks = new BackgroundTasks(realClock, o.log);
  }

  /** Connects to JetStream, creates the streams and (when hosting) joins the cluster. */
  static async start(options: ActorSystemOptions): Promise<ActorSystem> {
    const o = resolveOptions(options);
    const jsm = await jetstreamManager(o.nc);
    const streams = await ensureStreams(jsm, {
      prefix: o.prefix,
      replicas: o.replicas,
      maxPayload: o.maxPayload,
    });
    const halt = new AbortController();
    const system = new ActorSystem(
      o,
      jsm,
      streams,
      assembleNode(o, jsm, streams, halt.signal),
      halt,
    );
    await system.#start();
    return system;
  }

  async #start() {
    const o = this.#o;
    if (o.adminService) {
      this.#adminStop = await startAdminService(o.nc, {
        prefix: o.prefix,
        pool: o.pool,
        deadLetters: this.deadLetters,
        rebalance: () => o.nc.publish(`${o.prefix}.ctl.rebalance`),
        nodeId: o.nodeId,
      });
    }
    const crash = o.faults.crash;
    crash?.addEventListener("abort", () => void this.#crash(), { once: true });
    if (!o.host) {
      this.#ready = true;
      return;
    }
    await this.#p.host.start();
    const t = this.#tasks;
    t.every(o.heartbeatMs, () => this.#p.host.round());
    t.every(2000, () => this.#p.outbox.sweep(this.#p.host.partitions).then(() => {}));
    t.every(Math.max(500, o.reminderWindowMs / 2), () => this.#p.reminders.load());
    t.every(Math.max(1000, o.idleMs / 4), () => {
      this.#p.activations.passivateIdle(o.clock.now() - o.idleMs);
    });
    t.every(5000, () => this.#gauges());
    this.#realTimeTasks.every(
      Math.max(100, o.ackWaitMs / 4),
      () => this.#p.settler.keepAlive(o.ackWaitMs / 4),
    );
    this.#ready = true;
    if (crash?.aborted) await this.#crash();
  }

  /** True once the node has joined and its first partitions are being served. */
  get ready(): boolean {
    return this.#ready && !this.#draining && !this.#halt.signal.aborted;
  }

  /** Partitions this node owns, ascending. */
  get ownedPartitions(): number[] {
    return this.#p.host.partitions;
  }

  /** Actors in memory. */
  get residentActors(): number {
    return this.#p.activations.size;
  }

  /** Reminders held in memory (those due within the loading window). */
  get remindersInWindow(): number {
    return this.#p.reminders.held;
  }

  /** A typed handle to send messages to an actor of a registered type. */
  ref<D extends AnyActorDefinition>(def: D, id: string): ActorRef<D> {
    if (!this.#p.defs.has(def.type) && this.#o.host) throw new UnknownActorTypeError(def.type);
    return this.client.ref(def, id);
  }

  /** See `ActorClient.tell`; rejects with `SystemStoppingError` once the node drains. */
  tell(to: ActorAddress, kind: string, data?: unknown): Promise<void> {
    if (this.#draining) return Promise.reject(new SystemStoppingError());
    return this.client.tell(to, kind, data);
  }

  /** See `ActorClient.ask`; rejects with `SystemStoppingError` once the node drains. */
  ask<T = unknown>(to: ActorAddress, kind: string, data?: unknown, opts?: AskOptions): Promise<T> {
    if (this.#draining) return Promise.reject(new SystemStoppingError());
    return this.client.ask<T>(to, kind, data, opts) as Promise<T>;
  }

  /** See `ActorClient.tellWithin`: a message sent if and only if the caller's transaction commits. */
  tellWithin(
    db: { query(text: string, values?: unknown[]): Promise<unknown> },
    to: ActorAddress,
    kind: string,
    data?: unknown,
    opts?: { msgId?: string },
  ): Promise<StagedTell> {
    return this.client.tellWithin(db, to, kind, data, opts);
  }

  /** Publishes tells staged by `tellWithin` once their transaction committed. */
  async publishOutbox(tells: readonly StagedTell[]): Promise<void> {
    await this.#p.outbox.publishStaged(tells);
  }

  /** The address of an actor's mailbox, for operators and tests. */
  mailboxOf(to: ActorAddress): { partition: number; subject: string } {
    checkAddress(to.type, to.id);
    const partition = partitionOf(to.type, to.id, this.#o.partitions);
    return { partition, subject: mailboxSubject(this.#o.prefix, partition, to.type, to.id) };
  }

  /** The durable consumer name of an owned partition's mailbox, for operators and tests. */
  consumerOf(partition: number): string | undefined {
    return this.#p.host.consumerOf(partition);
  }

  async #gauges() {
    const [info, backlog] = await Promise.all([
      this.#jsm.streams.info(this.streams.mailbox),
      this.#p.outbox.backlog(),
    ]);
    this.metrics.mailboxLag.set(info.state.messages);
    this.metrics.outboxBacklog.set(backlog);
    this.metrics.remindersHeld.set(this.#p.reminders.held);
    this.metrics.resident.set(this.#p.activations.size);
  }

  /**
   * Graceful drain: stop fetching, finish running turns (up to `timeoutMs` of real time), flush
   * the outbox, release every lease so the other nodes take the partitions at once.
   */
  async stop({ timeoutMs = 30_000 } = {}): Promise<void> {
    if (this.#halt.signal.aborted) return await this.client[Symbol.asyncDispose]();
    this.#draining = true;
    if (this.#o.host) {
      await this.#p.host.drain(timeoutMs);
      this.client.sends.flush();
      await this.#p.outbox.flushed();
    }
    this.#halted();
    await this.#adminStop?.();
    if (this.#o.host) await this.#p.host.leave();
    await this.client[Symbol.asyncDispose]();
  }

  /** Stops without draining or releasing anything, as a crash would (`faults.crash`). */
  async #crash(): Promise<void> {
    if (this.#halt.signal.aborted) return;
    this.#halted();
    this.#p.host.crash();
    await this.#adminStop?.();
  }

  #halted() {
    this.#halt.abort();
    this.#tasks.stop();
    this.#realTimeTasks.stop();
    this.#p.reminders.stop();
  }

  /** `stop()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
