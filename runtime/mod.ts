/**
 * The Coachd actor runtime: virtual actors on NATS JetStream and Postgres. It knows nothing of
 * coaching.
 *
 * An actor type is plain data: a zod state schema, an initial state and handlers, each a message
 * schema and a function of `(ctx, message)`. Every effect goes through `ctx` and commits with the
 * turn; a handler's return value is the reply to an `ask`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { z } from "zod";
 * import type pg from "pg";
 * import type { NatsConnection } from "@nats-io/transport-node";
 * import { ActorSystem, defineActor, TerminalError } from "./mod.ts";
 *
 * const counter = defineActor({
 *   type: "counter",
 *   state: z.object({ n: z.number() }),
 *   initial: () => ({ n: 0 }),
 *   handlers: (h) => ({
 *     add: h(z.number(), (ctx, by) => {
 *       // Not retried; the asker gets a RemoteHandlerError with this name, code and message.
 *       if (ctx.state.n + by > 100) throw new TerminalError("Counter is full", { code: "full" });
 *       ctx.state.n += by;
 *       ctx.remind("check", { after: 3_600_000 }); // committed with the turn
 *       return ctx.state.n;
 *     }),
 *     check: h(z.unknown(), (ctx) => ctx.log.info("an hour later", { n: ctx.state.n })),
 *   }),
 * });
 * assert.deepEqual(Object.keys(counter.handlers), ["add", "check"]);
 *
 * // A node hosts it (Postgres with the migrations applied, NATS with JetStream); `ask` is typed
 * // by the definition: a number in, a number back.
 * async function addTwo(pool: pg.Pool, nc: NatsConnection): Promise<number> {
 *   await using system = await ActorSystem.start({ pool, nc, actors: [counter], nodeId: "n1" });
 *   return await system.ref(counter, "a").ask("add", 2);
 * }
 * assert.equal(typeof addTwo, "function");
 * ```
 * @module
 */

// Defining actors.
export {
  type ActorAddress,
  type ActorDefinition,
  type AnyActorDefinition,
  type AnyHandlers,
  type ContractHandlers,
  defineActor,
  type HandlerDefinition,
  type HandlerFactory,
  type HandlersOf,
  type MessageOf,
  type Protocol,
  type ReminderOptions,
  type ReminderSchedule,
  type ReplyOf,
  type TurnContext,
} from "./actor.ts";
export {
  type Contract,
  type ContractMessage,
  defineContract,
  type MessageSpec,
  type MessageSpecs,
  type ProtocolOf,
} from "./contract.ts";

// Running a node, and sending to actors.
export { ActorSystem } from "./system.ts";
export type { ActorSystemOptions } from "./options.ts";
export type { FaultInjection } from "./faults.ts";
export {
  ActorClient,
  ActorRef,
  type AskOptions,
  type ClientOptions,
  type SendOptions,
  type StagedTell,
} from "./client.ts";
export type { RuntimeMetrics } from "./metrics.ts";
export { type StreamNames, streamNames } from "./streams.ts";

// Time.
export { type Clock, ManualClock, realClock } from "./clock.ts";

// Operators: dead letters; logs.
export { type DeadLetter, DeadLetterNotFoundError, DeadLetters } from "./dead_letters.ts";
export {
  type EventConsumer,
  type EventConsumerOptions,
  type EventMeta,
  parseEvent,
  startEventConsumer,
} from "./event_consumer.ts";
export { jsonLogger, type Logger, type LogLevel } from "./logger.ts";

// Errors a caller or a handler may handle.
export {
  AskCycleError,
  AskTimeoutError,
  InvalidActorAddressError,
  InvalidMessageError,
  InvalidStateError,
  NonDeterministicTurnError,
  PayloadTooLargeError,
  type RemoteError,
  RemoteHandlerError,
  SystemStoppingError,
  TerminalError,
  type TerminalErrorOptions,
  UnknownActorTypeError,
  UnknownMessageKindError,
} from "./errors.ts";
