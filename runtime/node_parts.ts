import { jetstream, type JetStreamManager } from "@nats-io/jetstream";
import type { AnyActorDefinition } from "./actor.ts";
import { Activations } from "./activations.ts";
import { ActorTimers } from "./actor_timers.ts";
import { ActorClient } from "./client.ts";
import { DeadLetters } from "./dead_letters.ts";
import { Dispatcher } from "./dispatcher.ts";
import { Membership } from "./membership.ts";
import { createRuntimeMetrics, type RuntimeMetrics } from "./metrics.ts";
import type { ResolvedOptions } from "./options.ts";
import { OutboxRelay } from "./outbox.ts";
import { PartitionHost } from "./partition_host.ts";
import { ReminderScheduler } from "./reminders.ts";
import { MessageSettler } from "./settler.ts";
import { StateStore } from "./state_store.ts";
import type { StreamNames } from "./streams.ts";
import { TurnCommitter } from "./turn_commit.ts";
import { TurnExecutor } from "./turn_executor.ts";

/** The parts of a node the `ActorSystem` facade drives. */
export interface NodeParts {
  instance: string;
  defs: ReadonlyMap<string, AnyActorDefinition>;
  metrics: RuntimeMetrics;
  client: ActorClient;
  deadLetters: DeadLetters;
  outbox: OutboxRelay;
  reminders: ReminderScheduler;
  activations: Activations;
  settler: MessageSettler;
  host: PartitionHost;
}

/**
 * Builds a node's parts and connects them: the path of a message is partition host → dispatcher
 * → turn executor → turn committer (→ state store, settler, outbox, reminders, timers).
 * `halt` aborts when the node stops.
 */
export function assembleNode(
  o: ResolvedOptions,
  jsm: JetStreamManager,
  streams: StreamNames,
  halt: AbortSignal,
): NodeParts {
  const js = jetstream(o.nc);
  const { clock, log } = o;
  const defs = new Map(o.actors.map((def) => [def.type, def]));
  const instance = `${o.nodeId}-${crypto.randomUUID().slice(0, 8)}`;
  const metrics = createRuntimeMetrics({ node: o.nodeId });
  const client = new ActorClient(o.nc, js, {
    prefix: o.prefix,
    partitions: o.partitions,
    maxPayload: o.maxPayload,
    clock,
  });
  const deadLetters = new DeadLetters(js, jsm, streams.dead, o.prefix);
  const membership = new Membership(o.pool, {
    instance: instance,
    nodeId: o.nodeId,
    partitions: o.partitions,
    leaseMs: o.leaseMs,
    nodeTtlMs: o.nodeTtlMs,
  });
  const store = new StateStore(o.pool, {
    instance: instance,
    mailboxId: streams.mailboxId,
    commitConcurrency: o.commitConcurrency,
    onBatch: (n, ms) => {
      metrics.commitBatch.observe(n);
      metrics.commitLatency.observe(ms / 1000);
    },
  });
  const outbox = new OutboxRelay(o.pool, js, log);
  const reminders = new ReminderScheduler(o.pool, js, clock, log, {
    prefix: o.prefix,
    windowMs: o.reminderWindowMs,
    maxPayload: o.maxPayload,
    onFired: (ms) => metrics.reminderLateness.observe(ms / 1000),
  });
  const activations = new Activations(o.maxResident, (a) => {
    timers.clearAll(a);
    metrics.resident.set(activations.size);
  });
  const timers = new ActorTimers(
    clock,
    (act) => activations.get(act.key) === act,
    (act, item) => dispatcher.enqueue(act, item),
  );
  const settler = new MessageSettler({
    nc: o.nc,
    sends: client.sends,
    deadLetters,
    metrics,
    log,
  });
  const host: PartitionHost = new PartitionHost({
    o,
    js,
    jsm,
    mailboxStream: streams.mailbox,
    membership,
    reminders,
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
    outbox,
    reminders,
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
    defs: defs,
    activations,
    settler,
    executor,
    clock,
    metrics,
    log,
    halt,
  });
  return {
    instance,
    defs,
    metrics,
    client,
    deadLetters,
    outbox,
    reminders,
    activations,
    settler,
    host,
  };
}
