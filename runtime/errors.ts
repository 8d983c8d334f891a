/** Options of a {@linkcode TerminalError}: a `code` callers can branch on, and a `cause`. */
export interface TerminalErrorOptions extends ErrorOptions {
  /** A stable, machine-readable code (`"plan_limit"`); it reaches the `ask` caller. */
  code?: string;
}

/**
 * A failure that retrying cannot fix: the message goes to the dead-letter stream at once, and an
 * `ask` caller gets a {@linkcode RemoteHandlerError} with this error's name, code and message.
 * Subclass it for each condition a caller may handle.
 */
export class TerminalError extends Error {
  /** Machine-readable code, when the thrower gave one. */
  readonly code?: string;
  constructor(message: string, options?: TerminalErrorOptions) {
    super(message, options);
    this.name = "TerminalError";
    if (options?.code !== undefined) this.code = options.code;
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

/** No actor type of that name is registered on this node. */
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

/** What an `ask` caller learns of the error that got its message dead-lettered. */
export interface RemoteError {
  /** The error's `name`: a handler's own error class, or the runtime's (`InvalidMessageError`). */
  name: string;
  /** The error's own message. */
  message: string;
  /** The error's `code`, when it had one. */
  code?: string;
  /** Why the message was dead-lettered, as recorded with the dead letter. */
  reason?: string;
}

/**
 * The target rejected the message for good (it was dead-lettered); carried back to the `ask`
 * caller with the remote error's name, code and message. Terminal: inside a handler, retrying the
 * ask would only be rejected again.
 */
export class RemoteHandlerError extends TerminalError {
  /** Name of the error the target's handler (or the runtime) rejected the message with. */
  readonly remoteName: string;
  /** That error's own message (`message` also names the target and the dead-letter reason). */
  readonly remoteMessage: string;
  constructor(readonly target: string, remote: RemoteError) {
    super(`${target} rejected the message: ${remote.reason ?? remote.message}`, {
      code: remote.code,
    });
    this.name = "RemoteHandlerError";
    this.remoteName = remote.name;
    this.remoteMessage = remote.message;
  }
}

/**
 * Fault injection found a handler that is not deterministic: run twice on the same message and
 * state, it left a different state or different effects. Only raised when a test asks for it
 * (`faults.replayTurns`).
 */
export class NonDeterministicTurnError extends TerminalError {
  constructor(readonly actorType: string, readonly kind: string, readonly differs: string[]) {
    super(
      `Handler "${kind}" of actor type "${actorType}" is not deterministic: replayed on the same ` +
        `message and state it gave a different ${differs.join(", ")}`,
      { code: "non_deterministic" },
    );
    this.name = "NonDeterministicTurnError";
  }
}

/** The system is stopping and accepts no new work. */
export class SystemStoppingError extends Error {
  constructor() {
    super("The actor system is draining and accepts no new work");
    this.name = "SystemStoppingError";
  }
}
