import { jetstream, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { ActorAddress, AnyActorDefinition } from "./actor.ts";
import { checkAddress, mailboxSubject, partitionOf } from "./address.ts";
import { Activations } from "./activations.ts";
import { ActorTimers } from "./actor_timers.ts";
import { startAdminService } from "./admin_service.ts";
import { BackgroundTasks } from "./background.ts";
import { ActorClient, type ActorRef, type AskOptions, type StagedTell } from "./client.ts";
import { realClock } from "./clock.ts";
import { DeadLetters } from "./dead_letters.ts";
import { Dispatcher } from "./dispatcher.ts";
import { SystemStoppingError, UnknownActorTypeError } from "./errors.ts";
import { Membership } from "./membership.ts";
import { createRuntimeMetrics, type RuntimeMetrics } from "./metrics.ts";
import { type ActorSystemOptions, type ResolvedOptions, resolveOptions } from "./options.ts";
import { OutboxRelay } from "./outbox.ts";
import { PartitionHost } from "./partition_host.ts";
import { ReminderScheduler } from "./reminders.ts";
import { MessageSettler } from "./settler.ts";
import { StateStore } from "./state_store.ts";
import { ensureStreams, type StreamNames } from "./streams.ts";
import { TurnCommitter } from "./turn_commit.ts";
import { TurnExecutor } from "./turn_executor.ts";

/**
 * Hosts virtual actors: leases partitions, consumes their mailboxes, runs turns and commits them
 * in groups, relays the outbox and fires reminders. Start one per node; nodes sharing Postgres,
 * NATS and a prefix form one cluster. With `host: false` it only sends.
 *
 * This class wires the parts together (see runtime/README.md for which file does what) and is
 * the whole surface a node uses.
 */
export class ActorSystem implements AsyncDisposable {
  /** Sends messages; shared by everything on this node. */
  readonly client: ActorClient;
  /** This node's Prometheus metrics, in a registry of their own. */
  readonly metrics: RuntimeMetrics;
  /** This run's owner identity (`<nodeId>-<random>`): leases and commits are fenced by it. */
  readonly instance: string;
  readonly streams: StreamNames;
  /** The dead-letter stream: list, replay. */
  readonly deadLetters: DeadLetters;
  readonly #o: ResolvedOptions;
  readonly #defs: ReadonlyMap<string, AnyActorDefinition>;
  readonly #jsm: JetStreamManager;
  readonly #outbox: OutboxRelay;
  readonly #reminders: ReminderScheduler;
  readonly #activations: Activations;
  readonly #host: PartitionHost;
  readonly #settler: MessageSettler;
  /** Loops on the runtime clock, and the one that must run in real time (JetStream keep-alive). */
  readonly #tasks: BackgroundTasks;
  readonly #realTimeTasks: BackgroundTasks;
  readonly #halt = new AbortController();
  #draining = false;
  #ready = false;
  #adminStop?: () => Promise<void>;

  private constructor(o: ResolvedOptions, jsm: JetStreamManager, streams: StreamNames) {
    const js = jetstream(o.nc);
    const { clock, log } = o;
    const halt = this.#halt.signal;
    this.#o = o;
    this.#jsm = jsm;
    this.streams = streams;
    this.#defs = new Map(o.actors.map((def) => [def.type, def]));
    this.instance = `${o.nodeId}-${crypto.randomUUID().slice(0, 8)}`;
    const metrics = this.metrics = createRuntimeMetrics({ node: o.nodeId });
    const client = this.client = new ActorClient(o.nc, js, {
      prefix: o.prefix,
      partitions: o.partitions,
      maxPayload: o.maxPayload,
      clock,
    });
    this.deadLetters = new DeadLetters(js, jsm, streams.dead, o.prefix);
    const membership = new Membership(o.pool, {
      instance: this.instance,
      nodeId: o.nodeId,
      partitions: o.partitions,
      leaseMs: o.leaseMs,
      nodeTtlMs: o.nodeTtlMs,
    });
    const store = new StateStore(o.pool, {
      instance: this.instance,
      mailboxId: streams.mailboxId,
      commitConcurrency: o.commitConcurrency,
      onBatch: (n, ms) => {
        metrics.commitBatch.observe(n);
        metrics.commitLatency.observe(ms / 1000);
      },
    });
    this.#outbox = new OutboxRelay(o.pool, js, log);
    this.#reminders = new ReminderScheduler(o.pool, js, clock, log, {
      prefix: o.prefix,
      windowMs: o.reminderWindowMs,
      maxPayload: o.maxPayload,
      onFired: (ms) => metrics.reminderLateness.observe(ms / 1000),
    });
    const activations = this.#activations = new Activations(o.maxResident, (a) => {
      timers.clearAll(a);
      metrics.resident.set(activations.size);
    });
    const timers = new ActorTimers(
      clock,
      (act) => activations.get(act.key) === act,
      (act, item) => dispatcher.enqueue(act, item),
    );
    const settler = this.#settler = new MessageSettler(
      o.nc,
      client.sends,
      this.deadLetters,
      metrics,
      log,
    );
    const host: PartitionHost = this.#host = new PartitionHost({
      o,
      js,
      jsm,
      mailboxStream: streams.mailbox,
      membership,
      reminders: this.#reminders,
      activations,
      dispatch: (m, p, e): void => dispatcher.dispatch(m, p, e),
      whenIdle: (acts, ms): Promise<void> => dispatcher.whenIdle(acts, ms),
      metrics,
      log,
      clock,
      halt,
    });
    const committer: TurnCommitter = new TurnCommitter({
      store,
      settler,
      outbox: this.#outbox,
      reminders: this.#reminders,
      timers,
      activations,
      ownership: host,
      metrics,
      log,
      plan: {
        prefix: o.prefix,
        maxPayload: o.maxPayload,
        dedupeWindow: o.dedupeWindow,
        subjectOf: (to) => client.subjectOf(to),
      },
    });
    const executor: TurnExecutor = new TurnExecutor({
      store,
      settler,
      committer,
      client,
      clock,
      metrics,
      log,
      maxDeliver: o.maxDeliver,
      replayTurns: o.faults.replayTurns ?? false,
      halt,
    });
    const dispatcher: Dispatcher = new Dispatcher({
      prefix: o.prefix,
      defs: this.#defs,
      activations,
      settler,
      executor,
      clock,
      metrics,
      log,
      halt,
    });
    this.#tasks = new BackgroundTasks(clock, log);
    this.#realTimeTasks = new BackgroundTasks(realClock, log);
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
    const system = new ActorSystem(o, jsm, streams);
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
    await this.#host.start();
    const t = this.#tasks;
    t.every(o.heartbeatMs, () => this.#host.round());
    t.every(2000, () => this.#outbox.sweep(this.#host.partitions).then(() => {}));
    t.every(Math.max(500, o.reminderWindowMs / 2), () => this.#reminders.load());
    t.every(Math.max(1000, o.idleMs / 4), () => {
      this.#activations.passivateIdle(o.clock.now() - o.idleMs);
    });
    t.every(5000, () => this.#gauges());
    this.#realTimeTasks.every(
      Math.max(100, o.ackWaitMs / 4),
      () => this.#settler.keepAlive(o.ackWaitMs / 4),
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
    return this.#host.partitions;
  }

  /** Actors in memory. */
  get residentActors(): number {
    return this.#activations.size;
  }

  /** Reminders held in memory (those due within the loading window). */
  get remindersInWindow(): number {
    return this.#reminders.held;
  }

  /** A typed handle to send messages to an actor of a registered type. */
  ref<D extends AnyActorDefinition>(def: D, id: string): ActorRef<D> {
    if (!this.#defs.has(def.type) && this.#o.host) throw new UnknownActorTypeError(def.type);
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
    return this.client.ask<T>(to, kind, data, opts);
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
    await this.#outbox.publishStaged(tells);
  }

  /** The address of an actor's mailbox, for operators and tests. */
  mailboxOf(to: ActorAddress): { partition: number; subject: string } {
    checkAddress(to.type, to.id);
    const partition = partitionOf(to.type, to.id, this.#o.partitions);
    return { partition, subject: mailboxSubject(this.#o.prefix, partition, to.type, to.id) };
  }

  /** The durable consumer name of an owned partition's mailbox, for operators and tests. */
  consumerOf(partition: number): string | undefined {
    return this.#host.consumerOf(partition);
  }

  async #gauges() {
    const [info, backlog] = await Promise.all([
      this.#jsm.streams.info(this.streams.mailbox),
      this.#outbox.backlog(),
    ]);
    this.metrics.mailboxLag.set(info.state.messages);
    this.metrics.outboxBacklog.set(backlog);
    this.metrics.remindersHeld.set(this.#reminders.held);
    this.metrics.resident.set(this.#activations.size);
  }

  /**
   * Graceful drain: stop fetching, finish running turns (up to `timeoutMs` of real time), flush
   * the outbox, release every lease so the other nodes take the partitions at once.
   */
  async stop({ timeoutMs = 30_000 } = {}): Promise<void> {
    if (this.#halt.signal.aborted) return await this.client[Symbol.asyncDispose]();
    this.#draining = true;
    if (this.#o.host) {
      await this.#host.drain(timeoutMs);
      this.client.sends.flush();
      await this.#outbox.flushed();
    }
    this.#halted();
    await this.#adminStop?.();
    if (this.#o.host) await this.#host.leave();
    await this.client[Symbol.asyncDispose]();
  }

  /** Stops without draining or releasing anything, as a crash would (`faults.crash`). */
  async #crash(): Promise<void> {
    if (this.#halt.signal.aborted) return;
    this.#halted();
    this.#host.crash();
    await this.#adminStop?.();
  }

  #halted() {
    this.#halt.abort();
    this.#tasks.stop();
    this.#realTimeTasks.stop();
    this.#reminders.stop();
  }

  async [Symbol.asyncDispose]() {
    await this.stop();
  }
}
