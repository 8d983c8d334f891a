/**
 * Test harness of the domain actors: an actor system on a test schema and NATS prefix that
 * records every event its actors emit, with the vector index worker beside it when the test has
 * knowledge services.
 */
import type pg from "pg";
import {
  ActorSystem,
  type ActorSystemOptions,
  type AnyActorDefinition,
  jsonLogger,
} from "../runtime/mod.ts";
import { type Knowledge, startVectorIndexWorker } from "../knowledge/mod.ts";
import type { TestNats } from "./harness.ts";

/** An event as published after its turn committed. */
export interface RecordedEvent {
  /** The subject under `<prefix>.evt.`, e.g. `conversation.answer`. */
  subject: string;
  // deno-lint-ignore no-explicit-any -- tests read fields of many event shapes
  data: any;
}

export interface ActorNode extends AsyncDisposable {
  system: ActorSystem;
  /** Every event seen so far, oldest first. */
  events: RecordedEvent[];
  /** The data of the events seen so far on one subject. */
  // deno-lint-ignore no-explicit-any
  eventsOn(subject: string): any[];
}

/** Starts one node hosting `actors`; events are recorded from before the first turn. */
export async function startActorNode(
  { pool, nats, actors, knowledge, ...options }: {
    pool: pg.Pool;
    nats: TestNats;
    actors: AnyActorDefinition[];
    /** Starts the vector index worker on these services. */
    knowledge?: Knowledge;
  } & Partial<ActorSystemOptions>,
): Promise<ActorNode> {
  const stack = new AsyncDisposableStack();
  try {
    const events: RecordedEvent[] = [];
    const root = `${nats.prefix}.evt.`;
    const sub = nats.nc.subscribe(`${root}>`, {
      callback: (err, msg) => {
        if (!err) events.push({ subject: msg.subject.slice(root.length), data: msg.json() });
      },
    });
    stack.defer(() => sub.unsubscribe());
    await nats.nc.flush();
    const system = stack.use(
      await ActorSystem.start({
        pool,
        nc: nats.nc,
        actors,
        nodeId: "n1",
        prefix: nats.prefix,
        partitions: 4,
        log: jsonLogger("error"),
        ...options,
      }),
    );
    if (knowledge) {
      stack.use(
        await startVectorIndexWorker({
          ...knowledge,
          nc: nats.nc,
          prefix: nats.prefix,
          log: jsonLogger("error"),
          deadLetters: system.deadLetters,
        }),
      );
    }
    const moved = stack.move();
    return {
      system,
      events,
      eventsOn: (subject) => events.filter((e) => e.subject === subject).map((e) => e.data),
      [Symbol.asyncDispose]: () => moved.disposeAsync(),
    };
  } catch (err) {
    await stack.disposeAsync();
    throw err;
  }
}
