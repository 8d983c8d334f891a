/**
 * Faults a test can inject into a node (`ActorSystemOptions.faults`). Nothing here is on in
 * production: a node started without `faults` never replays or crashes on purpose.
 */
export interface FaultInjection {
  /**
   * Runs every handler a second time on the same message and the same state, with the same clock
   * readings and the same `ctx.ask` replies, and dead-letters the message with a
   * `NonDeterministicTurnError` unless both runs left the same state, the same effects (tells,
   * events, reminders, timers, erase) and the same reply. Like Restate's `alwaysReplay`: it
   * catches handlers that depend on anything but their message and state.
   */
  readonly replayTurns?: boolean;
  /**
   * When this signal aborts, the node stops as a crash would: no drain, no lease release, no
   * outbox flush; its unacknowledged messages are redelivered to the next owner once its leases
   * expire.
   */
  readonly crash?: AbortSignal;
}
