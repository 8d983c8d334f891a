/**
 * Revocation reaches open sockets at once: a revoked token pair's id is announced on NATS, and
 * every node closes the app sockets it opened with that pair.
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";

export const revokedSubject = (prefix: string) => `${prefix}.app.tokens.revoked`;

export class RevocationWatch implements Disposable {
  readonly #sockets = new Map<string, Set<() => void>>();
  readonly #sub: Subscription;

  constructor(private readonly o: { nc: NatsConnection; prefix: string }) {
    this.#sub = o.nc.subscribe(revokedSubject(o.prefix), {
      callback: (err, msg) => {
        if (err) return;
        let ids: unknown;
        try {
          ids = msg.json();
        } catch {
          return;
        }
        if (!Array.isArray(ids)) return;
        for (const id of ids) for (const close of this.#sockets.get(String(id)) ?? []) close();
      },
    });
  }

  /** Calls `close` when the token pair `tokenId` is revoked, until disposed. */
  watch(tokenId: string, close: () => void): Disposable {
    let set = this.#sockets.get(tokenId);
    if (!set) this.#sockets.set(tokenId, set = new Set());
    set.add(close);
    return {
      [Symbol.dispose]: () => {
        set.delete(close);
        if (set.size === 0) this.#sockets.delete(tokenId);
      },
    };
  }

  /** Tells every node these token pairs are revoked (after the revocation committed). */
  announce(tokenIds: string[]): void {
    if (tokenIds.length) this.o.nc.publish(revokedSubject(this.o.prefix), JSON.stringify(tokenIds));
  }

  [Symbol.dispose](): void {
    this.#sub.unsubscribe();
    this.#sockets.clear();
  }
}
