import type pg from "pg";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import {
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
} from "@nats-io/jetstream";
import { context, propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { ActorAddress, AnyActorDefinition } from "./actor.ts";
import { checkAddress, mailboxSubject, parseMailboxSubject, partitionOf } from "./address.ts";
import { type Activation, Activations, type Item } from "./activations.ts";
import { encodeBase64 } from "./base64.ts";
import { ActorClient, type ActorRef, tracer } from "./client.ts";
import { type Clock, realClock } from "./clock.ts";
import { Committer, type OutboxRow, type ReminderCancel, type ReminderWrite } from "./committer.ts";
import { DeadLetters } from "./dead_letters.ts";
import { decodeEnvelope, encodeEnvelope, encodeJson, H, headersToRecord } from "./envelope.ts";
import {
  InvalidMessageError,
  InvalidStateError,
  SystemStoppingError,
  TerminalError,
  UnknownActorTypeError,
  UnknownMessageKindError,
} from "./errors.ts";
import { jsonLogger, type Logger } from "./logger.ts";
import { Membership } from "./membership.ts";
import { createRuntimeMetrics, type RuntimeMetrics } from "./metrics.ts";
import { OutboxRelay } from "./outbox.ts";
import { consumerName, type JsMsg, openPartitionConsumer } from "./partition_consumer.ts";
import { ReminderScheduler } from "./reminders.ts";
import { ensureStreams, type StreamNames } from "./streams.ts";
import { TurnContextImpl } from "./turn_context.ts";
import { jsonEqual } from "./json_equal.ts";
import { startAdminService } from "./admin_service.ts";

export interface ActorSystemOptions {
  pool: pg.Pool;
  nc: NatsConnection;
  actors: AnyActorDefinition[];
  /** Stable name of this node (pod name); a restart gets a new owner identity all the same. */
  nodeId: string;
  prefix?: string;
  partitions?: number;
  replicas?: number;
  /** Set false for a client-only system that sends but hosts no partitions. */
  host?: boolean;
  leaseMs?: number;
  heartbeatMs?: number;
  ackWaitMs?: number;
  maxAckPending?: number;
  /** Deliveries (crash redeliveries plus in-place retries) before a message is dead-lettered. */
  maxDeliver?: number;
  idleMs?: number;
  maxResident?: number;
  reminderWindowMs?: number;
  maxPayload?: number;
  /**
   * Stream sequences of applied messages remembered per actor to drop redeliveries: covers the
   * messages committed but not yet acknowledged when a node crashed or lost its connection.
   */
  dedupeWindow?: number;
  /**
   * Group commits in flight at once. 1 gives the largest batches (least Postgres CPU per turn);
   * 2 overlaps one commit's round trip with the next batch filling.
   */
  commitConcurrency?: number;
  /** Test mode: every message is handled a second time after its commit (it must be a no-op). */
  deliverTwice?: boolean;
  adminService?: boolean;
  clock?: Clock;
  log?: Logger;
}

type Resolved = Required<Omit<ActorSystemOptions, "clock" | "log">>;

interface OwnedPartition {
  partition: number;
  epoch: number;
  stop?: () => void;
  loop?: Promise<void>;
  releasing?: boolean;
}

/**
 * Hosts virtual actors: leases partitions, consumes their mailboxes, runs turns and commits them
 * in groups, relays the outbox and fires reminders. Start one per node; nodes sharing Postgres,
 * NATS and a prefix form one cluster.
 */
export class ActorSystem implements AsyncDisposable {
  readonly client: ActorClient;
  readonly metrics: RuntimeMetrics;
  readonly instance: string;
  readonly streams: StreamNames;
  readonly deadLetters: DeadLetters;
  readonly #o: Resolved;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #defs = new Map<string, AnyActorDefinition>();
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #membership: Membership;
  readonly #committer: Committer;
  readonly #outbox: OutboxRelay;
  readonly #reminders: ReminderScheduler;
  readonly #activations: Activations;
  readonly #owned = new Map<number, OwnedPartition>();
  readonly #held = new Set<Item>();
  readonly #subs: Subscription[] = [];
  readonly #intervals: ReturnType<typeof setInterval>[] = [];
  #roundRunning?: Promise<void>;
  #draining = false;
  #stopped = false;
  #ready = false;
  #adminStop?: () => Promise<void>;

  private constructor(
    o: ActorSystemOptions,
    js: JetStreamClient,
    jsm: JetStreamManager,
    streams: StreamNames,
  ) {
    this.#o = {
      prefix: "coachd",
      partitions: 64,
      replicas: 1,
      host: true,
      leaseMs: 5000,
      heartbeatMs: 1000,
      ackWaitMs: 30_000,
      maxAckPending: 1000,
      maxDeliver: 5,
      idleMs: 5 * 60_000,
      maxResident: 100_000,
      reminderWindowMs: 10_000,
      maxPayload: 256 * 1024,
      deliverTwice: false,
      dedupeWindow: 128,
      commitConcurrency: 1,
      adminService: true,
      ...o,
    } as Resolved;
    this.#clock = o.clock ?? realClock;
    this.instance = `${o.nodeId}-${crypto.randomUUID().slice(0, 8)}`;
    this.#log = (o.log ?? jsonLogger()).child({ node: o.nodeId });
    for (const def of o.actors) this.#defs.set(def.type, def);
    this.#js = js;
    this.#jsm = jsm;
    this.streams = streams;
    this.metrics = createRuntimeMetrics({ node: o.nodeId });
    this.client = new ActorClient(o.nc, js, {
      prefix: this.#o.prefix,
      partitions: this.#o.partitions,
      maxPayload: this.#o.maxPayload,
    });
    this.deadLetters = new DeadLetters(js, jsm, streams.dead, this.#o.prefix);
    this.#membership = new Membership(o.pool, {
      instance: this.instance,
      nodeId: o.nodeId,
      partitions: this.#o.partitions,
      leaseMs: this.#o.leaseMs,
      nodeTtlMs: this.#o.heartbeatMs * 3 + 500,
    });
    this.#committer = new Committer(o.pool, this.instance, streams.mailboxId, {
      maxInFlight: this.#o.commitConcurrency,
    });
    this.#committer.onBatch = (n, ms) => {
      this.metrics.commitBatch.observe(n);
      this.metrics.commitLatency.observe(ms / 1000);
    };
    this.#outbox = new OutboxRelay(o.pool, js, this.#log);
    this.#reminders = new ReminderScheduler(o.pool, js, this.#clock, this.#log, {
      prefix: this.#o.prefix,
      windowMs: this.#o.reminderWindowMs,
      maxPayload: this.#o.maxPayload,
      onFired: (ms) => this.metrics.reminderLateness.observe(ms / 1000),
    });
    this.#activations = new Activations(this.#o.maxResident, (a) => {
      for (const t of a.timers?.values() ?? []) this.#clock.clearTimeout(t);
      this.metrics.resident.set(this.#activations.size);
    });
  }

  /** Connects to JetStream, creates the streams and (when hosting) joins the cluster. */
  static async start(o: ActorSystemOptions): Promise<ActorSystem> {
    const jsm = await jetstreamManager(o.nc);
    const js = jetstream(o.nc);
    const streams = await ensureStreams(jsm, {
      prefix: o.prefix ?? "coachd",
      replicas: o.replicas ?? 1,
      maxPayload: o.maxPayload,
    });
    const system = new ActorSystem(o, js, jsm, streams);
    await system.#start();
    return system;
  }

  async #start() {
    if (this.#o.adminService) {
      this.#adminStop = await startAdminService(this.#o.nc, {
        prefix: this.#o.prefix,
        pool: this.#o.pool,
        deadLetters: this.deadLetters,
        rebalance: () => this.#o.nc.publish(`${this.#o.prefix}.ctl.rebalance`),
        nodeId: this.#o.nodeId,
      });
    }
    if (!this.#o.host) {
      this.#ready = true;
      return;
    }
    await this.#membership.register();
    this.#subs.push(this.#o.nc.subscribe(`${this.#o.prefix}.ctl.rebalance`, {
      callback: () => void this.#round(),
    }));
    await this.#round();
    this.#every(this.#o.heartbeatMs, () => this.#round());
    this.#every(2000, () => this.#outbox.sweep([...this.#membership.owned.keys()]).then(() => {}));
    this.#every(Math.max(500, this.#o.reminderWindowMs / 2), () => this.#reminders.load());
    this.#every(Math.max(1000, this.#o.idleMs / 4), () => {
      this.#activations.passivateIdle(this.#clock.now() - this.#o.idleMs);
      return Promise.resolve();
    });
    this.#every(Math.max(100, this.#o.ackWaitMs / 4), () => {
      this.#keepAlive();
      return Promise.resolve();
    });
    this.#every(5000, () => this.#gauges());
    this.#ready = true;
  }

  #every(ms: number, fn: () => Promise<void>) {
    let busy = false;
    this.#intervals.push(setInterval(() => {
      if (busy || this.#stopped) return;
      busy = true;
      fn().catch((err) => this.#log.warn("background task failed", { error: String(err) }))
        .finally(() => busy = false);
    }, ms));
  }

  /** True once the node has joined and its first partitions are being served. */
  get ready(): boolean {
    return this.#ready && !this.#draining;
  }

  get ownedPartitions(): number[] {
    return [...this.#owned.keys()].sort((a, b) => a - b);
  }

  get residentActors(): number {
    return this.#activations.size;
  }

  get remindersInWindow(): number {
    return this.#reminders.held;
  }

  /** A typed handle to send messages to an actor of a registered type. */
  ref<D extends AnyActorDefinition>(def: D, id: string): ActorRef<D> {
    if (!this.#defs.has(def.type) && this.#o.host) throw new UnknownActorTypeError(def.type);
    return this.client.ref(def, id);
  }

  tell(to: ActorAddress, kind: string, data?: unknown): Promise<void> {
    if (this.#draining) return Promise.reject(new SystemStoppingError());
    return this.client.tell(to, kind, data);
  }

  ask<T = unknown>(to: ActorAddress, kind: string, data?: unknown, opts?: { timeoutMs?: number }) {
    if (this.#draining) return Promise.reject(new SystemStoppingError());
    return this.client.ask<T>(to, kind, data, opts);
  }

  /** Runs one membership round now (also what a rebalance request triggers). */
  #round(): Promise<void> {
    this.#roundRunning ??= this.#doRound().finally(() => this.#roundRunning = undefined);
    return this.#roundRunning;
  }

  async #doRound() {
    if (this.#stopped) return;
    const releasing = new Set(
      [...this.#owned.values()].filter((p) => p.releasing).map((p) => p.partition),
    );
    const plan = await this.#membership.round({ draining: this.#draining, blocked: releasing });
    for (const p of plan.lost) this.#lose(p, "lease lost");
    await Promise.all([...plan.taken].map(([p, epoch]) => this.#take(p, epoch)));
    for (const p of plan.handOver) void this.#handOver(p);
    this.metrics.ownedPartitions.set(this.#membership.owned.size);
  }

  async #take(partition: number, epoch: number) {
    const owned: OwnedPartition = { partition, epoch };
    this.#owned.set(partition, owned);
    this.#reminders.owned.add(partition);
    try {
      await this.#consume(owned);
      await this.#reminders.load([partition]);
      this.#log.debug("took partition", { partition, epoch });
    } catch (err) {
      this.#log.error("could not open partition consumer; releasing it", {
        partition,
        error: String(err),
      });
      this.#lose(partition, "consumer failed");
      await this.#membership.release([{ partition, epoch }]).catch(() => {});
    }
  }

  /** Opens the partition's consumer and dispatches its messages; reopens it if it ends early. */
  async #consume(owned: OwnedPartition) {
    const { partition, epoch } = owned;
    const stillMine = () =>
      this.#owned.get(partition) === owned && !owned.releasing && !this.#stopped;
    const messages = await openPartitionConsumer(this.#jsm, this.#js, {
      stream: this.streams.mailbox,
      prefix: this.#o.prefix,
      partition,
      epoch,
      ackWaitMs: this.#o.ackWaitMs,
      maxAckPending: this.#o.maxAckPending,
    });
    owned.stop = () => void messages.stop();
    owned.loop = (async () => {
      try {
        for await (const m of messages) {
          if (!stillMine()) break;
          this.#dispatch(m, partition, epoch);
        }
      } catch (err) {
        this.#log.warn("partition consumer failed", { partition, error: String(err) });
      }
      if (!stillMine()) return;
      this.#log.warn("partition consumer ended; reopening", { partition });
      await new Promise((r) => setTimeout(r, 1000));
      if (stillMine()) {
        await this.#consume(owned).catch((err) =>
          this.#log.error("reopening the partition consumer failed", {
            partition,
            error: String(err),
          })
        );
      }
    })();
  }

  #lose(partition: number, why: string) {
    const owned = this.#owned.get(partition);
    if (!owned) return;
    this.#owned.delete(partition);
    this.#membership.owned.delete(partition);
    owned.stop?.();
    for (const a of this.#activations.inPartition(partition)) this.#activations.remove(a);
    this.#reminders.dropPartitions([partition]);
    this.#log.info("partition dropped", { partition, why });
  }

  /** Stops fetching, lets queued turns finish, then releases the lease for the preferred node. */
  async #handOver(partition: number) {
    const owned = this.#owned.get(partition);
    if (!owned || owned.releasing) return;
    owned.releasing = true;
    owned.stop?.();
    await this.#idle(this.#activations.inPartition(partition), this.#o.ackWaitMs);
    this.#lose(partition, "handed over");
    await this.#membership.release([{ partition, epoch: owned.epoch }]).catch((err) =>
      this.#log.warn("release failed; the lease will expire", { partition, error: String(err) })
    );
  }

  async #idle(acts: Activation[], timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    while (acts.some((a) => a.running || a.queue.length > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  #dispatch(m: JsMsg, partition: number, epoch: number) {
    const headers = headersToRecord(m.headers);
    const item: Item = {
      subject: m.subject,
      data: m.data,
      headers,
      msgId: headers[H.msgId] ?? `seq:${m.seq}`,
      seq: m.seq,
      deliveryCount: m.info.deliveryCount,
      receivedAt: performance.now(),
      js: m,
    };
    const address = parseMailboxSubject(this.#o.prefix, m.subject);
    if (!address || address.partition !== partition) {
      void this.#deadLetter(item, `unroutable subject ${m.subject}`, "unroutable");
      return;
    }
    const def = this.#defs.get(address.type);
    if (!def) {
      void this.#deadLetter(item, new UnknownActorTypeError(address.type).message, "unknown_type");
      return;
    }
    const key = `${address.type}/${address.id}`;
    let act = this.#activations.get(key);
    if (act && act.epoch !== epoch) {
      this.#activations.remove(act);
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
        lastUsed: this.#clock.now(),
      };
      this.#activations.add(act);
      this.metrics.resident.set(this.#activations.size);
    } else {
      this.#activations.touch(act);
    }
    this.#held.add(item);
    act.queue.push(item);
    if (!act.running) void this.#run(act);
  }

  async #run(act: Activation) {
    act.running = true;
    try {
      let failures = 0;
      while (act.queue.length > 0) {
        const item = act.queue.shift()!;
        try {
          await this.#turn(act, item);
          failures = 0;
        } catch (err) {
          // Infrastructure failure (Postgres or NATS unreachable, a conflicting write): retry the
          // same message in place after reloading the state, so nothing overtakes it.
          failures++;
          this.#log.error("turn failed; retrying", {
            actor: act.key,
            attempt: failures,
            error: String(err),
          });
          act.loaded = false;
          act.queue.unshift(item);
          item.js?.working();
          await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** failures)));
          if (this.#activations.get(act.key) !== act || this.#stopped) {
            // The partition moved or the node stops: leave the messages unacked for redelivery.
            for (const rest of act.queue.splice(0)) this.#held.delete(rest);
            return;
          }
        }
      }
    } finally {
      act.running = false;
      act.lastUsed = this.#clock.now();
    }
  }

  async #load(act: Activation) {
    const { rows } = await this.#o.pool.query<
      { version: string; state: unknown; recent_seqs: string[]; mailbox: string }
    >(
      "select version, state, recent_seqs, mailbox from rt_actor_state where actor_type = $1 and actor_id = $2",
      [act.type, act.id],
    );
    const row = rows[0];
    act.state = row ? row.state : act.def.initial(act.id);
    act.version = row ? Number(row.version) : 0;
    // Sequences of an earlier incarnation of the stream mean nothing now.
    act.recent = row && row.mailbox === this.streams.mailboxId ? row.recent_seqs.map(Number) : [];
    act.loaded = true;
  }

  async #turn(act: Activation, item: Item) {
    if (!act.loaded) await this.#load(act);
    if (item.seq && act.recent.includes(item.seq)) {
      this.#finish(item);
      this.metrics.turns.inc({ type: act.type, outcome: "duplicate" });
      return;
    }
    if (item.deliveryCount > this.#o.maxDeliver) {
      await this.#deadLetter(item, `exceeded ${this.#o.maxDeliver} deliveries`, "max_deliver");
      return;
    }
    let kind: string;
    let raw: unknown;
    if (item.local) {
      kind = item.local.kind;
      raw = item.local.data;
    } else {
      const env = decodeEnvelope(item.data);
      if ("error" in env) {
        return await this.#deadLetter(item, `malformed message: ${env.error}`, "malformed");
      }
      kind = env.k;
      raw = env.d;
    }
    const handler = act.def.handlers[kind];
    if (!handler) {
      return await this.#deadLetter(
        item,
        new UnknownMessageKindError(act.type, kind).message,
        "unknown_kind",
      );
    }
    const input = handler.input.safeParse(raw);
    if (!input.success) {
      const issues = input.error.issues.map((i) =>
        `${i.path.join(".") || "(message)"}: ${i.message}`
      );
      return await this.#deadLetter(
        item,
        new InvalidMessageError(act.type, kind, issues).message,
        "invalid",
      );
    }
    const parent = propagation.extract(context.active(), item.headers);
    const span = tracer.startSpan(`turn ${act.type}.${kind}`, {
      kind: SpanKind.CONSUMER,
      attributes: { "actor.type": act.type, "actor.id": act.id, "message.id": item.msgId },
    }, parent);
    // Messages this turn sends continue its trace.
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(parent, span), carrier);
    try {
      for (let attempt = 1;; attempt++) {
        const ctx = new TurnContextImpl(
          { type: act.type, id: act.id },
          // A JSON round trip is the cheapest deep copy of a JSON state (and all a state may hold).
          JSON.parse(JSON.stringify(act.state)),
          item.msgId,
          item.headers[H.reminder]
            ? { name: item.headers[H.reminder]!, dueAt: Number(item.headers[H.due]) }
            : undefined,
          this.#log.child({ actor: act.key }),
          this.#clock,
          this.client,
          item.headers[H.chain] ? item.headers[H.chain]!.split(",") : [],
        );
        let result: unknown;
        try {
          result = await handler.handle(ctx, input.data);
        } catch (err) {
          const terminal = err instanceof TerminalError;
          if (terminal || item.deliveryCount + attempt > this.#o.maxDeliver) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: String(err) });
            const why = terminal
              ? `${(err as Error).name}: ${(err as Error).message}`
              : `handler failed ${attempt} times, last: ${String(err)}`;
            return await this.#deadLetter(item, why, terminal ? "terminal" : "retries");
          }
          // Retry in place: a nak would let later messages for this actor overtake this one.
          item.js?.working();
          await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** attempt)));
          continue;
        }
        const checked = act.def.state.safeParse(ctx.state);
        if (!checked.success) {
          const issues = checked.error.issues.map((i) =>
            `${i.path.join(".") || "(state)"}: ${i.message}`
          );
          return await this.#deadLetter(
            item,
            new InvalidStateError(act.type, issues).message,
            "invalid_state",
          );
        }
        await this.#commit(
          act,
          item,
          ctx,
          checked.data,
          ctx.replied ? ctx.replyValue : result,
          carrier.traceparent,
        );
        return;
      }
    } finally {
      span.end();
    }
  }

  async #commit(
    act: Activation,
    item: Item,
    ctx: TurnContextImpl<unknown>,
    newStateIn: unknown,
    replyValue: unknown,
    traceparent: string | undefined,
  ) {
    let newState = newStateIn;
    const outbox: OutboxRow[] = [];
    let n = 0;
    for (const t of ctx.tells) {
      outbox.push({
        id: `${item.msgId}:${n++}`,
        p: act.partition,
        subject: this.client.subjectOf(t.to),
        h: traceparent ? { [H.traceparent]: traceparent } : {},
        b: encodeBase64(encodeEnvelope(t.kind, t.data, this.#o.maxPayload)),
      });
    }
    for (const e of ctx.events) {
      outbox.push({
        id: `${item.msgId}:${n++}`,
        p: act.partition,
        subject: `${this.#o.prefix}.evt.${e.subject}`,
        h: { [H.actor]: act.key, ...(traceparent ? { [H.traceparent]: traceparent } : {}) },
        b: encodeBase64(encodeJson(e.data)),
      });
    }
    const reminders: ReminderWrite[] = [];
    const cancels: ReminderCancel[] = [];
    for (const [name, r] of ctx.reminders) {
      if (r === null) cancels.push({ t: act.type, i: act.id, n: name, p: act.partition });
      else {
        reminders.push({
          t: act.type,
          i: act.id,
          n: name,
          p: act.partition,
          due: r.due,
          period: r.period,
          payload: { kind: r.kind ?? name, data: r.data },
        });
      }
    }
    if (ctx.erased) {
      reminders.length = 0;
      cancels.length = 0;
      newState = act.def.initial(act.id);
    }
    const changed = ctx.erased || !jsonEqual(newState, act.state);
    const hasEffects = outbox.length > 0 || reminders.length > 0 || cancels.length > 0;
    if (changed || hasEffects) {
      if (this.#membership.owned.get(act.partition) !== act.epoch) {
        // The partition moved while this turn ran: its result must not be committed or acked.
        this.#held.delete(item);
        this.#activations.remove(act);
        return;
      }
      const recent = item.seq ? [...act.recent, item.seq].slice(-this.#o.dedupeWindow) : act.recent;
      const outcome = await this.#committer.commit({
        partition: act.partition,
        epoch: act.epoch,
        state: ctx.erased
          ? undefined
          : changed || !item.local
          ? { t: act.type, i: act.id, p: act.partition, v: act.version + 1, s: newState, r: recent }
          : undefined,
        erase: ctx.erased ? { t: act.type, i: act.id, p: act.partition } : undefined,
        outbox,
        reminders,
        cancels,
      });
      if (outcome === "fenced") {
        this.metrics.turns.inc({ type: act.type, outcome: "fenced" });
        this.#log.warn("commit fenced: partition owned by another node", {
          partition: act.partition,
        });
        this.#held.delete(item);
        this.#lose(act.partition, "fenced");
        return;
      }
      // An erased actor starts again from version 0 (its row is gone).
      act.version = ctx.erased ? 0 : act.version + 1;
      act.recent = recent;
    }
    act.state = newState;
    this.#finish(item);
    this.#sendReply(item, { ok: replyValue ?? null });
    this.metrics.turns.inc({ type: act.type, outcome: "ok" });
    this.metrics.turnLatency.observe(
      { type: act.type },
      (performance.now() - item.receivedAt) / 1000,
    );
    if (outbox.length > 0) void this.#outbox.publish(outbox);
    if (reminders.length > 0 || cancels.length > 0) {
      this.#reminders.applyCommitted(reminders, cancels);
    }
    if (ctx.erased) this.#reminders.dropActor(act.type, act.id);
    for (const [name, t] of ctx.timers) this.#setTimer(act, name, t);
    if (this.#o.deliverTwice && item.js && !item.headers["Coachd-Test-Copy"]) {
      // Test mode: the same message again, as JetStream would redeliver it after a lost ack.
      act.queue.push({ ...item, headers: { ...item.headers, "Coachd-Test-Copy": "1" } });
    }
  }

  #setTimer(
    act: Activation,
    name: string,
    t: { delayMs: number; kind: string; data: unknown } | null,
  ) {
    const timers = act.timers ??= new Map();
    const old = timers.get(name);
    if (old !== undefined) this.#clock.clearTimeout(old);
    timers.delete(name);
    if (t === null) return;
    timers.set(
      name,
      this.#clock.setTimeout(() => {
        timers.delete(name);
        if (this.#activations.get(act.key) !== act) return;
        act.queue.push({
          subject: "",
          data: new Uint8Array(),
          headers: {},
          msgId: `timer:${name}:${crypto.randomUUID()}`,
          seq: 0,
          deliveryCount: 1,
          receivedAt: performance.now(),
          local: { kind: t.kind, data: t.data },
        });
        if (!act.running) void this.#run(act);
      }, t.delayMs),
    );
  }

  #finish(item: Item) {
    this.#held.delete(item);
    const js = item.js;
    if (js) this.client.sends.defer(() => js.ack());
  }

  #sendReply(item: Item, body: unknown) {
    const to = item.headers[H.reply];
    if (!to || item.headers["Coachd-Test-Copy"]) return;
    const data = encodeJson(body);
    this.client.sends.defer(() => this.#o.nc.publish(to, data));
  }

  async #deadLetter(item: Item, reason: string, label: string) {
    if (!item.js) {
      this.#log.warn("timer turn rejected", { reason });
      return;
    }
    await this.deadLetters.put({
      subject: item.subject,
      data: item.data,
      headers: item.headers,
      reason,
    });
    this.metrics.deadLetters.inc({ reason: label });
    this.#log.warn("message dead-lettered", { subject: item.subject, reason });
    this.#finish(item);
    this.#sendReply(item, { err: { name: "DeadLettered", message: reason } });
  }

  /** Tells JetStream that held messages are still being worked on, so they are not redelivered. */
  #keepAlive() {
    const cutoff = performance.now() - this.#o.ackWaitMs / 4;
    for (const item of this.#held) if (item.receivedAt < cutoff) item.js?.working();
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

  /** See `ActorClient.tellWithin`: a message sent if and only if the caller's transaction commits. */
  tellWithin(
    db: { query(text: string, values?: unknown[]): Promise<unknown> },
    to: ActorAddress,
    kind: string,
    data?: unknown,
    opts?: { msgId?: string },
  ): Promise<OutboxRow> {
    return this.client.tellWithin(db, to, kind, data, opts);
  }

  /** Publishes outbox rows written by `tellWithin` once their transaction committed. */
  async publishOutbox(rows: OutboxRow[]): Promise<void> {
    await this.#outbox.publish(rows);
  }

  /** The address of an actor's mailbox, for operators and tests. */
  mailboxOf(to: ActorAddress): { partition: number; subject: string } {
    checkAddress(to.type, to.id);
    const partition = partitionOf(to.type, to.id, this.#o.partitions);
    return { partition, subject: mailboxSubject(this.#o.prefix, partition, to.type, to.id) };
  }

  consumerOf(partition: number): string | undefined {
    const owned = this.#owned.get(partition);
    return owned ? consumerName(this.#o.prefix, partition, owned.epoch) : undefined;
  }

  /**
   * Graceful drain: stop fetching, finish running turns, flush the outbox, release every lease
   * so the other nodes take the partitions at once.
   */
  async stop({ timeoutMs = 30_000 } = {}): Promise<void> {
    if (this.#stopped) return;
    this.#draining = true;
    if (this.#o.host) {
      await this.#roundRunning;
      await this.#membership.round({ draining: true }).catch(() => {});
      for (const owned of this.#owned.values()) {
        owned.releasing = true;
        owned.stop?.();
      }
      await this.#idle([...this.#activations.all()], timeoutMs);
      this.client.sends.flush();
      await this.#outbox.flushed();
    }
    this.#stopped = true;
    for (const i of this.#intervals) clearInterval(i);
    this.#reminders.stop();
    for (const s of this.#subs) s.unsubscribe();
    await this.#adminStop?.();
    if (this.#o.host) {
      await Promise.all([...this.#owned.values()].map((o) => o.loop));
      await this.#membership.leave().catch((err) =>
        this.#log.warn("leave failed", { error: String(err) })
      );
      for (const a of [...this.#activations.all()]) this.#activations.remove(a);
    }
    await this.client[Symbol.asyncDispose]();
  }

  /** Stops without draining or releasing anything, as a crash would (for tests). */
  async crash(): Promise<void> {
    this.#stopped = true;
    for (const i of this.#intervals) clearInterval(i);
    this.#reminders.stop();
    for (const o of this.#owned.values()) o.stop?.();
    for (const s of this.#subs) s.unsubscribe();
    await this.#adminStop?.();
  }

  async [Symbol.asyncDispose]() {
    await this.stop();
  }
}
