import {
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";

/** Names of a cluster's JetStream streams. */
export interface StreamNames {
  /** Every actor's mailbox (a work queue). */
  mailbox: string;
  /** Identity of this incarnation of the mailbox stream (its creation time). */
  mailboxId: string;
  /** Rejected messages and events. */
  dead: string;
  /** Events actors emit (`<prefix>.evt.>`). */
  events: string;
}

/** The stream names of the cluster with `prefix` (`mailboxId` is only known once created). */
export function streamNames(prefix: string): StreamNames {
  return {
    mailbox: `${prefix}_mailbox`,
    mailboxId: "",
    dead: `${prefix}_dead`,
    events: `${prefix}_events`,
  };
}

export interface StreamOptions {
  prefix: string;
  replicas: number;
  /** Window in which a repeated Nats-Msg-Id is dropped by the server. */
  duplicateWindowMs?: number;
  maxPayload?: number;
}

/** Creates (or updates) the mailbox, dead-letter and event streams. Idempotent. */
export async function ensureStreams(jsm: JetStreamManager, o: StreamOptions): Promise<StreamNames> {
  const names = streamNames(o.prefix);
  const common = {
    storage: StorageType.File,
    num_replicas: o.replicas,
    duplicate_window: nanos(o.duplicateWindowMs ?? 10 * 60_000),
    max_msg_size: (o.maxPayload ?? 256 * 1024) + 4096,
  };
  const mailbox = await upsert(jsm, {
    ...common,
    name: names.mailbox,
    subjects: [`${o.prefix}.mbx.>`],
    // A message leaves the stream when its turn is committed and acked; a new owner's consumer
    // then starts at the oldest unfinished message, which keeps per-actor order across failover.
    retention: RetentionPolicy.Workqueue,
    discard: DiscardPolicy.New,
  });
  await upsert(jsm, {
    ...common,
    name: names.dead,
    subjects: [`${o.prefix}.dlq.>`],
    retention: RetentionPolicy.Limits,
    max_age: nanos(30 * 24 * 3600_000),
    allow_direct: true,
  });
  await upsert(jsm, {
    ...common,
    name: names.events,
    subjects: [`${o.prefix}.evt.>`],
    retention: RetentionPolicy.Limits,
    max_age: nanos(7 * 24 * 3600_000),
  });
  return { ...names, mailboxId: mailbox.created };
}

// deno-lint-ignore no-explicit-any
async function upsert(jsm: JetStreamManager, config: any) {
  try {
    await jsm.streams.info(config.name);
    return await jsm.streams.update(config.name, config);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return await jsm.streams.add(config);
  }
}

export function isNotFound(err: unknown): boolean {
  const e = err as { code?: number; message?: string; api_error?: { err_code?: number } };
  return /not found/i.test(e?.message ?? "") || e?.code === 404;
}
