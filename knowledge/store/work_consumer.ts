/** The durable pull consumer that the nodes' workers of one kind share. */
import type { NatsConnection } from "@nats-io/transport-node";
import { nanos } from "@nats-io/transport-node";
import {
  AckPolicy,
  type Consumer,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";

/**
 * Creates the durable consumer, or brings an existing one (an older node's settings) to these,
 * and returns it. Explicit acks; one delivery beyond the worker's own attempts, so that a message
 * whose last attempt crashed the worker is still seen and given up on.
 */
export async function sharedDurable(
  nc: NatsConnection,
  { stream, durable, filter, ackWaitMs, maxDeliver }: {
    stream: string;
    durable: string;
    filter: string;
    ackWaitMs: number;
    maxDeliver: number;
  },
): Promise<Consumer> {
  const jsm = await jetstreamManager(nc);
  const config = {
    durable_name: durable,
    filter_subject: filter,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ackWaitMs),
    max_deliver: maxDeliver + 1,
  };
  try {
    await jsm.consumers.add(stream, config);
  } catch {
    await jsm.consumers.update(stream, durable, config);
  }
  return await jetstream(nc).consumers.get(stream, durable);
}
