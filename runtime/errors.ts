/** A failure that retrying cannot fix: the message goes to the dead-letter stream at once. */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TerminalError";
  }
}

/** The message named a kind the actor type has no handler for. */
export class UnknownMessageKindError extends TerminalError {
  constructor(readonly actorType: string, readonly kind: string) {
    super(`Actor type "${actorType}" has no handler for message kind "${kind}"`);
    this.name = "UnknownMessageKindError";
  }
}

/** The message failed its handler's input schema. */
export class InvalidMessageError extends TerminalError {
  constructor(readonly actorType: string, readonly kind: string, readonly issues: string[]) {
    super(`Invalid "${kind}" message for actor type "${actorType}": ${issues.join("; ")}`);
    this.name = "InvalidMessageError";
  }
}

/** The handler produced a state that fails the actor's state schema; nothing was committed. */
export class InvalidStateError extends TerminalError {
  constructor(readonly actorType: string, readonly issues: string[]) {
    super(`Handler left an invalid "${actorType}" state: ${issues.join("; ")}`);
    this.name = "InvalidStateError";
  }
}

/** No actor type of that name is registered. */
export class UnknownActorTypeError extends Error {
  constructor(readonly actorType: string) {
    super(`Unknown actor type "${actorType}"`);
    this.name = "UnknownActorTypeError";
  }
}

/** An actor type or id cannot be used (empty, too long, or with forbidden characters). */
export class InvalidActorAddressError extends Error {
  constructor(readonly actorType: string, readonly actorId: string, reason: string) {
    super(`Invalid actor address ${actorType}/${actorId}: ${reason}`);
    this.name = "InvalidActorAddressError";
  }
}

/** The encoded message is larger than the configured maximum. */
export class PayloadTooLargeError extends Error {
  constructor(readonly size: number, readonly limit: number) {
    super(`Message payload is ${size} bytes; the limit is ${limit} bytes`);
    this.name = "PayloadTooLargeError";
  }
}

/** `ask` got no reply in time. The message may still be processed later. */
export class AskTimeoutError extends Error {
  constructor(readonly target: string, readonly kind: string, readonly timeoutMs: number) {
    super(`No reply from ${target} to "${kind}" within ${timeoutMs} ms`);
    this.name = "AskTimeoutError";
  }
}

/** An ask would wait on an actor that is itself waiting on this call chain. */
export class AskCycleError extends TerminalError {
  constructor(readonly chain: string[]) {
    super(`Ask cycle detected: ${chain.join(" -> ")}`);
    this.name = "AskCycleError";
  }
}

/**
 * The target rejected the message for good (it was dead-lettered); carried back to the `ask`
 * caller. Terminal: inside a handler, retrying the ask would only be rejected again.
 */
export class RemoteHandlerError extends TerminalError {
  constructor(readonly target: string, readonly remoteName: string, message: string) {
    super(`${target} rejected the message: ${message}`);
    this.name = "RemoteHandlerError";
  }
}

/** The system is stopping and accepts no new work. */
export class SystemStoppingError extends Error {
  constructor() {
    super("The actor system is draining and accepts no new work");
    this.name = "SystemStoppingError";
  }
}
