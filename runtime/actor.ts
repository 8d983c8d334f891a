import type { z } from "zod";
import type { Contract, MessageSpecs, ReplyOfSpec } from "./contract.ts";
import type { Logger } from "./logger.ts";

/**
 * What an actor type accepts, as types: for each message kind, the data a sender passes and what
 * an `ask` resolves to. A contract produces one ({@link ProtocolOf}); a plain address accepts any
 * kind and data.
 */
export type Protocol = Record<string, { input: unknown; reply: unknown }>;

declare const accepts: unique symbol;

/**
 * Where an actor lives: its type and its id. An address made by a contract also carries, as a
 * type only, the protocol its actor accepts, so `tell` and `ask` check the kind and the data.
 */
export interface ActorAddress<P extends Protocol = Protocol> {
  readonly type: string;
  /** The actor's id within its type (1 to 256 characters). */
  readonly id: string;
  /** Type only, never set at run time. */
  readonly [accepts]?: P;
}

/** The data argument of a send: optional when the kind accepts no data. */
export type DataArgs<I> = undefined extends I ? [data?: I] : [data: I];
/** The data and options arguments of an ask: data optional when the kind accepts no data. */
export type AskArgs<I, O> = undefined extends I ? [data?: I, opts?: O] : [data: I, opts?: O];

/** When a durable reminder is due: at an epoch-ms time or after a delay, optionally repeating. */
export type ReminderSchedule =
  & ({ at: number; after?: never } | { after: number; at?: never })
  & { every?: number };

/** What a durable reminder delivers when it fires. */
export interface ReminderOptions extends Record<string, unknown> {
  /** Message kind delivered when the reminder fires; defaults to the reminder's name. */
  kind?: string;
  /** The message delivered (validated by the handler of `kind` like any message). */
  data?: unknown;
}

/** What a handler can do. Every effect on the world goes through it and commits with the turn. */
export interface TurnContext<S> {
  /** This actor's address. */
  readonly self: ActorAddress;
  /** The actor's state; mutate it or assign a new value. Committed only if the turn succeeds. */
  state: S;
  /** Id of the message being handled (stable across redeliveries). */
  readonly messageId: string;
  /** Set when this turn was started by a durable reminder. */
  readonly reminder?: { name: string; dueAt: number };
  /** The runtime clock, in epoch ms. */
  now(): number;
  /** Sends a message to another actor once this turn commits. */
  tell<P extends Protocol, K extends keyof P & string>(
    to: ActorAddress<P>,
    kind: K,
    ...data: DataArgs<P[K]["input"]>
  ): void;
  /** Asks another actor and waits for its reply (not transactional: it is sent at once). */
  ask<P extends Protocol, K extends keyof P & string>(
    to: ActorAddress<P>,
    kind: K,
    ...args: AskArgs<P[K]["input"], { timeoutMs?: number }>
  ): Promise<P[K]["reply"]>;
  /** Sets the reply for an `ask`; the handler's return value is used when this is not called. */
  reply(value: unknown): void;
  /** Creates or replaces a durable reminder, committed with the turn. */
  remind(name: string, when: ReminderSchedule, opts?: ReminderOptions): void;
  /** Deletes the durable reminder `name`, committed with the turn. */
  cancelReminder(name: string): void;
  /** An in-memory timer for this activation: lost on passivation or failover. */
  setTimer(name: string, delayMs: number, kind: string, data?: unknown): void;
  /** Clears the in-memory timer `name`. */
  clearTimer(name: string): void;
  /**
   * Erases the actor when this turn commits: its stored state and every reminder are deleted
   * (state changes and reminders set in this turn are dropped). Messages told and events emitted
   * in the turn still go out. The next message finds a fresh actor.
   */
  erase(): void;
  /** Publishes an event on `<prefix>.evt.<subject>` once this turn commits. */
  emit(subject: string, data: unknown): void;
  /** A logger with the actor's address on every line. */
  readonly log: Logger;
}

/** One handler: the schema its messages must pass, and the function that handles them. */
export interface HandlerDefinition<S, I, O> {
  /** Messages failing it are dead-lettered with `InvalidMessageError`, never handled. */
  input: z.ZodType<I>;
  /** Handles one message; its return value is the reply to an `ask`. */
  handle(ctx: TurnContext<S>, message: I): O | Promise<O>;
}

/** The handlers of an actor type, by message kind. */
// deno-lint-ignore no-explicit-any
export type AnyHandlers<S> = Record<string, HandlerDefinition<S, any, any>>;

/** An actor type, as `defineActor` returns it. */
export interface ActorDefinition<S, H extends AnyHandlers<S>> {
  /** The type's name, part of every address (`{ type, id }`). */
  readonly type: string;
  /** Every committed state passes it; a turn leaving an invalid state is dead-lettered. */
  readonly state: z.ZodType<S>;
  /** The state of an actor that has none stored yet. */
  readonly initial: (id: string) => S;
  /** Handlers by message kind. */
  readonly handlers: H;
}

/** Any actor type (what `ActorSystemOptions.actors` takes). */
// deno-lint-ignore no-explicit-any
export type AnyActorDefinition = ActorDefinition<any, AnyHandlers<any>>;

/** The message type of handler `K` of actor type `D`. */
export type MessageOf<D, K extends keyof HandlersOf<D>> = HandlersOf<D>[K] extends // deno-lint-ignore no-explicit-any
HandlerDefinition<any, infer I, any> ? I
  : never;
/** The reply type of handler `K` of actor type `D`. */
export type ReplyOf<D, K extends keyof HandlersOf<D>> = HandlersOf<D>[K] extends // deno-lint-ignore no-explicit-any
HandlerDefinition<any, any, infer O> ? Awaited<O>
  : never;
/** The handlers of actor type `D`. */
// deno-lint-ignore no-explicit-any
export type HandlersOf<D> = D extends ActorDefinition<any, infer H> ? H : never;

/** Builds handlers typed against the actor's state; passed to `defineActor`'s `handlers`. */
export type HandlerFactory<S> = <I, O>(
  input: z.ZodType<I>,
  handle: (ctx: TurnContext<S>, message: I) => O | Promise<O>,
) => HandlerDefinition<S, I, O>;

const factory = <S, I, O>(
  input: z.ZodType<I>,
  handle: (ctx: TurnContext<S>, message: I) => O | Promise<O>,
): HandlerDefinition<S, I, O> => ({ input, handle });

/** What a contract's handler returns: its reply schema's output, nothing for a told kind. */
export type HandlerReply<S> = S extends { reply: infer R extends z.ZodType } ? z.output<R> : void;

/** The handlers implementing a contract: one per kind, each given the parsed message. */
export type ContractHandlers<S, M extends MessageSpecs> = {
  [K in keyof M & string]: (
    ctx: TurnContext<S>,
    message: z.output<M[K]["input"]>,
  ) => HandlerReply<M[K]> | Promise<HandlerReply<M[K]>>;
};

/** The handler definitions `defineActor(contract, ...)` builds from the contract's schemas. */
export type HandlersOfContract<S, M extends MessageSpecs> = {
  [K in keyof M & string]: HandlerDefinition<S, z.output<M[K]["input"]>, ReplyOfSpec<M[K]>>;
};

/**
 * Defines an actor type: a name, a zod state schema, an initial state and its handlers, each a
 * message schema and a function of `(ctx, message)`. Its return value is the reply to an `ask`.
 * Given a contract first, the type and the message schemas come from it and `handlers` holds one
 * function per kind of the contract.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { defineActor } from "./actor.ts";
 * import { defineContract } from "./contract.ts";
 * const counter = defineActor({
 *   type: "counter",
 *   state: z.object({ n: z.number() }),
 *   initial: () => ({ n: 0 }),
 *   handlers: (h) => ({
 *     add: h(z.number(), (ctx, amount) => (ctx.state.n += amount)),
 *   }),
 * });
 * const gauge = defineContract("gauge", { set: { input: z.number(), reply: z.number() } });
 * const gaugeActor = defineActor(gauge, {
 *   state: z.object({ value: z.number() }),
 *   initial: () => ({ value: 0 }),
 *   handlers: { set: (ctx, value) => (ctx.state.value = value) },
 * });
 * console.assert(counter.type === "counter" && gaugeActor.type === "gauge");
 * ```
 */
export function defineActor<S, H extends AnyHandlers<S>>(
  def: {
    type: string;
    state: z.ZodType<S>;
    initial: (id: string) => S;
    handlers: (h: HandlerFactory<S>) => H;
  },
): ActorDefinition<S, H>;
export function defineActor<M extends MessageSpecs, S>(
  contract: Contract<M>,
  def: {
    state: z.ZodType<S>;
    initial: (id: string) => S;
    handlers: ContractHandlers<S, M>;
  },
): ActorDefinition<S, HandlersOfContract<S, M>>;
export function defineActor(
  first:
    | Contract
    | {
      type: string;
      state: z.ZodType<unknown>;
      initial: (id: string) => unknown;
      handlers: (h: HandlerFactory<unknown>) => AnyHandlers<unknown>;
    },
  impl?: {
    state: z.ZodType<unknown>;
    initial: (id: string) => unknown;
    handlers: Record<string, (ctx: TurnContext<unknown>, message: unknown) => unknown>;
  },
): AnyActorDefinition {
  if (!impl) {
    const def = first as Exclude<typeof first, Contract>;
    return { ...def, handlers: def.handlers(factory as HandlerFactory<unknown>) };
  }
  const contract = first as Contract;
  const handlers: AnyHandlers<unknown> = {};
  for (const [kind, spec] of Object.entries(contract.messages)) {
    const handle = impl.handlers[kind];
    if (!handle) throw new TypeError(`Actor "${contract.type}" has no handler for "${kind}"`);
    handlers[kind] = { input: spec.input, handle };
  }
  return { type: contract.type, state: impl.state, initial: impl.initial, handlers };
}
