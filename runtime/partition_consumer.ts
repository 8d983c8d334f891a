import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { type Clock, sleep } from "./clock.ts";
import type { Logger } from "./logger.ts";
import { isNotFound } from "./streams.ts";

export interface PartitionConsumerOptions {
  stream: string;
  prefix: string;
  partition: number;
  epoch: number;
  ackWaitMs: number;
  maxAckPending: number;
}

/** Consumer name for one tenure of one partition: a zombie's pulls never reach its successor. */
export function consumerName(prefix: string, partition: number, epoch: number) {
  return `${prefix}-p${partition}-e${epoch}`;
}

/**
 * The durable pull consumer of one owned partition. Taking a partition deletes every earlier
 * consumer on its subjects and creates a fresh one, so delivery restarts at the oldest message not
 * yet acknowledged (the stream is a work queue: acknowledged messages are gone).
 */
export async function openPartitionConsumer(
  jsm: JetStreamManager,
  js: JetStreamClient,
  o: PartitionConsumerOptions,
): Promise<ConsumerMessages> {
  const filter = `${o.prefix}.mbx.${o.partition}.>`;
  const name = consumerName(o.prefix, o.partition, o.epoch);
  const config = {
    durable_name: name,
    filter_subject: filter,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(o.ackWaitMs),
    max_ack_pending: o.maxAckPending,
    inactive_threshold: nanos(24 * 3600_000),
  };
  // The usual predecessor is the previous epoch's consumer; anything older is found by listing.
  if (o.epoch > 1) {
    await deleteConsumer(jsm, o.stream, consumerName(o.prefix, o.partition, o.epoch - 1));
  }
  for (let attempt = 0;; attempt++) {
    try {
      await jsm.consumers.add(o.stream, config);
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
      // A work-queue stream allows one consumer per subject: remove earlier tenures' consumers.
      await deleteOtherConsumers(jsm, o.stream, filter, name);
    }
  }
  const consumer = await js.consumers.get(o.stream, name);
  return await consumer.consume({ max_messages: Math.min(o.maxAckPending, 512) });
}

async function deleteOtherConsumers(
  jsm: JetStreamManager,
  stream: string,
  filter: string,
  keep: string,
) {
  for await (const ci of jsm.consumers.list(stream)) {
    const filters = [ci.config.filter_subject, ...(ci.config.filter_subjects ?? [])];
    if (ci.name !== keep && filters.includes(filter)) {
      await jsm.consumers.delete(stream, ci.name).catch((err) => {
        if (!isNotFound(err)) throw err;
      });
    }
  }
}

export async function deleteConsumer(jsm: JetStreamManager, stream: string, name: string) {
  await jsm.consumers.delete(stream, name).catch((err) => {
    if (!isNotFound(err)) throw err;
  });
}

/** A running consumer of one owned partition. */
export interface PartitionConsumer {
  /** Stops fetching; messages delivered and not acked are redelivered to the next consumer. */
  stop(): void;
  /** Settles once the consumer has stopped for good. */
  readonly done: Promise<void>;
}

export interface ConsumeOptions extends PartitionConsumerOptions {
  clock: Clock;
  log: Logger;
  /** False once the partition is lost, handed over or the node stops: the loop ends. */
  isCurrent: () => boolean;
  onMessage: (m: JsMsg) => void;
  /** Aborted when the node stops (ends the pause before a reopen). */
  halt: AbortSignal;
}

/**
 * Opens the partition's consumer (throwing if it cannot) and passes each message to `onMessage`
 * until the partition is no longer current; a consumer that ends early is reopened after a pause.
 */
export async function consumePartition(
  jsm: JetStreamManager,
  js: JetStreamClient,
  o: ConsumeOptions,
): Promise<PartitionConsumer> {
  let messages = await openPartitionConsumer(jsm, js, o);
  const { partition, log } = o;
  const done = (async () => {
    for (;;) {
      try {
        for await (const m of messages) {
          if (!o.isCurrent()) break;
          o.onMessage(m);
        }
      } catch (err) {
        log.warn("partition consumer failed", { partition, error: String(err) });
      }
      if (!o.isCurrent()) return;
      log.warn("partition consumer ended; reopening", { partition });
      await sleep(o.clock, 1000, o.halt);
      if (!o.isCurrent()) return;
      try {
        messages = await openPartitionConsumer(jsm, js, o);
      } catch (err) {
        log.error("reopening the partition consumer failed", { partition, error: String(err) });
        return;
      }
    }
  })();
  return { stop: () => void messages.stop(), done };
}

export type { JsMsg };
