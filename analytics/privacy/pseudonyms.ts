/**
 * Pseudonymous ids: analytics rows name a person by an HMAC-SHA256 of their end user id under a
 * key of their creator, so figures can be joined per person without naming anyone, and ids of
 * one creator mean nothing under another's key. Keys are random, created on first use and kept
 * sealed with the node's secrets key (db/secrets.ts).
 */
import { createHmac } from "node:crypto";
import { Buffer } from "node:buffer";
import type pg from "pg";
import type { SecretBox } from "../../db/secrets.ts";

const context = (creatorId: string) => `analytics-key:${creatorId}`;

/** Pseudonyms kept in memory: the same people write again and again. */
const PID_CACHE_SIZE = 100_000;

export class Pseudonyms {
  readonly #keys = new Map<string, Promise<Buffer>>();
  readonly #pids = new Map<string, string>();
  /** Creators the projection saw in the database (cleared when a batch fails). */
  readonly knownCreators = new Set<string>();

  constructor(readonly pool: pg.Pool, readonly box: SecretBox) {}

  /** The creator's key, created on first use (two nodes racing keep the first one stored). */
  key(creatorId: string): Promise<Buffer> {
    let key = this.#keys.get(creatorId);
    if (!key) {
      key = this.#load(creatorId);
      key.catch(() => this.#keys.delete(creatorId));
      this.#keys.set(creatorId, key);
    }
    return key;
  }

  async #load(creatorId: string): Promise<Buffer> {
    const read = async () => {
      const { rows: [row] } = await this.pool.query<{ iv: Buffer; sealed: Buffer }>(
        "select iv, sealed from analytics_keys where creator_id = $1",
        [creatorId],
      );
      return row
        ? Buffer.from(
          await this.box.open(
            { iv: new Uint8Array(row.iv), ciphertext: new Uint8Array(row.sealed) },
            context(creatorId),
          ),
          "base64",
        )
        : undefined;
    };
    const found = await read();
    if (found) return found;
    const fresh = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
    const sealed = await this.box.seal(fresh, context(creatorId));
    await this.pool.query(
      `insert into analytics_keys (creator_id, iv, sealed) values ($1, $2, $3)
       on conflict (creator_id) do nothing`,
      [creatorId, Buffer.from(sealed.iv), Buffer.from(sealed.ciphertext)],
    );
    const stored = await read();
    if (!stored) throw new Error(`Cannot store the analytics key of creator ${creatorId}`);
    return stored;
  }

  /** `pid(key, endUserId)`, remembered for the most recent people. */
  pidOf(key: Buffer, creatorId: string, endUserId: string): string {
    const k = `${creatorId}:${endUserId}`;
    let p = this.#pids.get(k);
    if (p === undefined) {
      if (this.#pids.size >= PID_CACHE_SIZE) this.#pids.clear();
      this.#pids.set(k, p = pid(key, endUserId));
    }
    return p;
  }

  /** The pseudonymous id of `endUserId` (32 hex characters). */
  async of(creatorId: string, endUserId: string): Promise<string> {
    return pid(await this.key(creatorId), endUserId);
  }
}

/** HMAC-SHA256 of the end user id, first 128 bits in hex. */
export function pid(key: Buffer, endUserId: string): string {
  return createHmac("sha256", key).update(endUserId).digest("hex").slice(0, 32);
}

/** A short hash joining an answer to its question without keeping either id. */
export function messageKey(key: Buffer, conversationId: string, messageId: string): string {
  return createHmac("sha256", key).update(`${conversationId}\u0000${messageId}`).digest("hex")
    .slice(0, 24);
}
