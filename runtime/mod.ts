/**
 * The Coachd actor runtime: virtual actors on NATS JetStream and Postgres. It knows nothing of
 * coaching.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { defineActor } from "./mod.ts";
 * const counter = defineActor({
 *   type: "counter",
 *   state: z.object({ n: z.number() }),
 *   initial: () => ({ n: 0 }),
 *   handlers: (h) => ({
 *     add: h(z.number(), (ctx, amount) => (ctx.state.n += amount)),
 *   }),
 * });
 * ```
 * @module
 */
export {
  type ActorAddress,
  type ActorDefinition,
  type AnyActorDefinition,
  type ContractHandlers,
  defineActor,
  type HandlerFactory,
  type Protocol,
  type ReminderSchedule,
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
export { ActorClient, ActorRef } from "./client.ts";
export type { OutboxRow } from "./committer.ts";
export { ActorSystem, type ActorSystemOptions } from "./system.ts";
export { type Clock, ManualClock, realClock } from "./clock.ts";
export { type DeadLetter, DeadLetterNotFoundError, DeadLetters } from "./dead_letters.ts";
export {
  type EventConsumer,
  type EventConsumerOptions,
  type EventMeta,
  startEventConsumer,
} from "./event_consumer.ts";
export { jsonLogger, type Logger, type LogLevel } from "./logger.ts";
export { streamNames } from "./streams.ts";
export {
  AskCycleError,
  AskTimeoutError,
  InvalidActorAddressError,
  InvalidMessageError,
  InvalidStateError,
  PayloadTooLargeError,
  RemoteHandlerError,
  SystemStoppingError,
  TerminalError,
  UnknownActorTypeError,
  UnknownMessageKindError,
} from "./errors.ts";
