import { z } from "zod";
import type { ActorAddress } from "./actor.ts";
import { checkAddress } from "./address.ts";

/** One message kind of a contract: the schema of its data and, for a kind that is asked, its reply. */
export interface MessageSpec {
  readonly input: z.ZodType;
  /** Documents and types the reply; not checked at run time. Omitted: the kind is only told. */
  readonly reply?: z.ZodType;
}

/** Every message kind of an actor type, by name. */
export type MessageSpecs = Record<string, MessageSpec>;

/** What an `ask` of the kind resolves to: its reply schema's output, or null for a told kind. */
export type ReplyOfSpec<S> = S extends { reply: infer R extends z.ZodType } ? z.output<R> : null;

/** The protocol (as types) of a contract's messages: senders pass a schema's input. */
export type ProtocolOf<M extends MessageSpecs> = {
  [K in keyof M & string]: { input: z.input<M[K]["input"]>; reply: ReplyOfSpec<M[K]> };
};

/** Any message of a contract as `{ kind, data }`: a union discriminated on `kind`. */
export type ContractMessage<M extends MessageSpecs> = {
  [K in keyof M & string]: { kind: K; data: z.output<M[K]["input"]> };
}[keyof M & string];

/**
 * The messages one actor type accepts, declared once: senders build typed addresses from it,
 * the actor implements it with `defineActor(contract, ...)`, and each message's schema is checked
 * when its turn starts (a message that fails it is dead-lettered).
 */
export interface Contract<M extends MessageSpecs = MessageSpecs> {
  readonly type: string;
  readonly messages: M;
  /** The whole vocabulary as one schema, `{ kind, data }` discriminated on `kind`. */
  readonly schema: z.ZodType<ContractMessage<M>>;
  /** The address of one actor of this type, typed by the contract. */
  address(id: string): ActorAddress<ProtocolOf<M>>;
}

/**
 * Declares the messages of an actor type.
 *
 * @param type the actor type (`[a-z][a-z0-9_-]*`)
 * @param messages each kind's data schema and, for kinds that are asked, its reply schema
 * @returns the contract
 * @throws InvalidActorAddressError when `type` cannot name an actor type
 * @example
 * ```ts
 * import { z } from "zod";
 * import { defineContract } from "./contract.ts";
 * const counter = defineContract("counter", {
 *   add: { input: z.number(), reply: z.number() },
 *   reset: { input: z.null().optional() },
 * });
 * const parsed = counter.schema.parse({ kind: "add", data: 2 });
 * console.assert(parsed.kind === "add" && counter.address("a").type === "counter");
 * ```
 */
export function defineContract<M extends MessageSpecs>(type: string, messages: M): Contract<M> {
  checkAddress(type, "-");
  const options = Object.entries(messages).map(([kind, spec]) =>
    z.object({ kind: z.literal(kind), data: spec.input })
  );
  const schema = z.discriminatedUnion(
    "kind",
    options as unknown as [(typeof options)[number], ...(typeof options)[number][]],
  ) as unknown as z.ZodType<ContractMessage<M>>;
  return {
    type,
    messages,
    schema,
    address: (id) => ({ type, id }),
  };
}
