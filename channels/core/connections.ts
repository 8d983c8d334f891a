/**
 * Channel connections as the channel code needs them: kind, settings and decrypted secrets,
 * looked up by connection id alone (a webhook names only the connection) and cached briefly so a
 * burst of webhooks costs one query. A change made through the admin API is announced on NATS
 * and drops the cached entry on every node.
 */
import type pg from "pg";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { withSystem } from "../../db/tenant.ts";
import type { SecretBox } from "../../db/secrets.ts";
import { channelContext } from "./connection_secrets.ts";

export interface Connection {
  id: string;
  creatorId: string;
  kind: string;
  name: string;
  status: "active" | "disabled";
  config: Record<string, unknown>;
  publicKey: string | null;
  /** Decrypted secrets (bot token, access token, app secret, webhook secret...). */
  secrets: Record<string, string>;
}

/** The NATS subject a node publishes a connection's id on after changing it. */
export const connectionChangedSubject = (prefix: string) => `${prefix}.channels.changed`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class ConnectionDirectory implements AsyncDisposable {
  readonly #cache = new Map<string, { at: number; value: Promise<Connection | null> }>();
  #sub?: Subscription;

  constructor(
    private readonly deps: {
      pool: pg.Pool;
      box: SecretBox;
      nc?: NatsConnection;
      prefix?: string;
      ttlMs?: number;
    },
  ) {
    if (deps.nc && deps.prefix) {
      this.#sub = deps.nc.subscribe(connectionChangedSubject(deps.prefix), {
        callback: (_err, msg) => this.forget(msg.string()),
      });
    }
  }

  /** The connection, or null when no connection has that id (or the id is not a uuid). */
  get(id: string): Promise<Connection | null> {
    if (!UUID.test(id)) return Promise.resolve(null);
    const hit = this.#cache.get(id);
    const ttl = this.deps.ttlMs ?? 30_000;
    if (hit && Date.now() - hit.at < ttl) return hit.value;
    const value = this.#load(id);
    this.#cache.set(id, { at: Date.now(), value });
    value.catch(() => this.#cache.delete(id));
    return value;
  }

  /** Drops a cached entry (after a change on this node, or announced by another). */
  forget(id: string): void {
    this.#cache.delete(id);
  }

  /** Announces a change to every node (and forgets it here). */
  announce(id: string): void {
    this.forget(id);
    if (this.deps.nc && this.deps.prefix) {
      this.deps.nc.publish(connectionChangedSubject(this.deps.prefix), id);
    }
  }

  async #load(id: string): Promise<Connection | null> {
    const row = await withSystem(this.deps.pool, async (c) =>
      (await c.query<{
        id: string;
        creator_id: string;
        kind: string;
        name: string;
        status: "active" | "disabled";
        config: Record<string, unknown>;
        public_key: string | null;
        secret_iv: Uint8Array | null;
        secret_ciphertext: Uint8Array | null;
      }>(
        `select id, creator_id, kind, name, status, config, public_key, secret_iv,
                secret_ciphertext
           from channel_connections where id = $1`,
        [id],
      )).rows[0]);
    if (!row) return null;
    const secrets = row.secret_iv && row.secret_ciphertext
      ? JSON.parse(
        await this.deps.box.open(
          { iv: row.secret_iv, ciphertext: row.secret_ciphertext },
          channelContext(row.creator_id, row.id),
        ),
      )
      : {};
    return {
      id: row.id,
      creatorId: row.creator_id,
      kind: row.kind,
      name: row.name,
      status: row.status,
      config: row.config,
      publicKey: row.public_key,
      secrets,
    };
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.#sub?.unsubscribe();
    return Promise.resolve();
  }
}
