import type pg from "pg";
import type { NatsConnection } from "@nats-io/transport-node";
import type { AnyActorDefinition } from "./actor.ts";
import { type Clock, realClock } from "./clock.ts";
import type { FaultInjection } from "./faults.ts";
import { jsonLogger, type Logger } from "./logger.ts";

/** How to start an `ActorSystem`; everything but the first four has a default. */
export interface ActorSystemOptions {
  /** Postgres with the migrations applied (the `rt_` tables). */
  pool: pg.Pool;
  /** NATS with JetStream. */
  nc: NatsConnection;
  /** The actor types this node hosts. */
  actors: AnyActorDefinition[];
  /** Stable name of this node (pod name); a restart gets a new owner identity all the same. */
  nodeId: string;
  /** Prefix of every subject and stream name; nodes with the same prefix form one cluster. */
  prefix?: string;
  /** Partitions of the actor space; fixed for the life of a cluster. */
  partitions?: number;
  /** JetStream replicas of the streams. */
  replicas?: number;
  /** Set false for a client-only system that sends but hosts no partitions. */
  host?: boolean;
  /** How long a partition lease lasts without renewal (Postgres time). */
  leaseMs?: number;
  /** Period of the membership round: heartbeat, lease renewal, take and hand over. */
  heartbeatMs?: number;
  /** JetStream's ack wait on the mailbox consumers. */
  ackWaitMs?: number;
  /** Messages delivered and not yet acknowledged, per partition. */
  maxAckPending?: number;
  /** Deliveries (crash redeliveries plus in-place retries) before a message is dead-lettered. */
  maxDeliver?: number;
  /** An actor idle this long is passivated (its state stays in Postgres). */
  idleMs?: number;
  /** Resident actors at most (least recently used idle ones are passivated first). */
  maxResident?: number;
  /** Reminders due within this window are held in memory; later ones stay in Postgres. */
  reminderWindowMs?: number;
  /** Largest encoded message, in bytes. */
  maxPayload?: number;
  /**
   * Messages applied last (by id) remembered per actor to drop redeliveries and second copies:
   * covers the messages committed but not yet acknowledged when a node crashed or lost its
   * connection, and a publish retried after a broker crash lost its duplicate window.
   */
  dedupeWindow?: number;
  /**
   * Group commits in flight at once. 1 gives the largest batches (least Postgres CPU per turn);
   * 2 overlaps one commit's round trip with the next batch filling.
   */
  commitConcurrency?: number;
  /** Serve the operators' NATS micro service (`nats micro ls`). */
  adminService?: boolean;
  /** Time for reminders, timers, passivation, the membership loop, retries and ask timeouts. */
  clock?: Clock;
  /** Where the runtime logs (JSON lines on stderr by default). */
  log?: Logger;
  /** Tests only: faults to inject (replay every turn, crash on a signal). */
  faults?: FaultInjection;
}

/** Options with every default filled in; frozen. */
export interface ResolvedOptions {
  readonly pool: pg.Pool;
  readonly nc: NatsConnection;
  readonly actors: readonly AnyActorDefinition[];
  readonly nodeId: string;
  readonly prefix: string;
  readonly partitions: number;
  readonly replicas: number;
  readonly host: boolean;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly ackWaitMs: number;
  readonly maxAckPending: number;
  readonly maxDeliver: number;
  readonly idleMs: number;
  readonly maxResident: number;
  readonly reminderWindowMs: number;
  readonly maxPayload: number;
  readonly dedupeWindow: number;
  readonly commitConcurrency: number;
  readonly adminService: boolean;
  readonly clock: Clock;
  /** The caller's logger (or JSON lines on stderr), with this node's id on every line. */
  readonly log: Logger;
  readonly faults: Readonly<FaultInjection>;
  /** A node whose heartbeat is older than this is not a candidate owner. */
  readonly nodeTtlMs: number;
}

/** Fills in the defaults of `o` once; every part of a node reads the result. */
export function resolveOptions(o: ActorSystemOptions): ResolvedOptions {
  const heartbeatMs = o.heartbeatMs ?? 1000;
  return Object.freeze({
    pool: o.pool,
    nc: o.nc,
    actors: Object.freeze([...o.actors]),
    nodeId: o.nodeId,
    prefix: o.prefix ?? "coachd",
    partitions: o.partitions ?? 64,
    replicas: o.replicas ?? 1,
    host: o.host ?? true,
    leaseMs: o.leaseMs ?? 5000,
    heartbeatMs,
    ackWaitMs: o.ackWaitMs ?? 30_000,
    maxAckPending: o.maxAckPending ?? 1000,
    maxDeliver: o.maxDeliver ?? 5,
    idleMs: o.idleMs ?? 5 * 60_000,
    maxResident: o.maxResident ?? 100_000,
    reminderWindowMs: o.reminderWindowMs ?? 10_000,
    maxPayload: o.maxPayload ?? 256 * 1024,
    dedupeWindow: o.dedupeWindow ?? 128,
    commitConcurrency: o.commitConcurrency ?? 1,
    adminService: o.adminService ?? true,
    clock: o.clock ?? realClock,
    log: (o.log ?? jsonLogger()).child({ node: o.nodeId }),
    faults: Object.freeze({ ...o.faults }),
    nodeTtlMs: heartbeatMs * 3 + 500,
  });
}
