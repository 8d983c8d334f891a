/**
 * Web widgets by their public key (the `data-key` of the script tag), and the sessions of their
 * visitors: the key is looked up once per node (it never changes), the connection itself through
 * the cluster's connection directory (so a change anywhere is seen at once).
 */
import type pg from "pg";
import { withSystem } from "../../db/tenant.ts";
import type { Connection, ConnectionDirectory } from "../core/connections.ts";
import {
  signSession,
  tokenAudience,
  verifyIdentity,
  verifySession,
  type WidgetVisitor,
} from "./session.ts";
import type { SocketAuthenticator, SocketPrincipal } from "./socket.ts";

/** A user id the creator's site vouched for did not come with the right HMAC. */
export class IdentityRefusedError extends Error {
  constructor() {
    super("The user's identity hash does not match: sign the user id with the widget secret");
    this.name = "IdentityRefusedError";
  }
}

const KEY = /^wk_[A-Za-z0-9_-]{10,60}$/;

export class Widgets implements SocketAuthenticator {
  readonly #ids = new Map<string, string | null>();

  constructor(private readonly o: { pool: pg.Pool; connections: ConnectionDirectory }) {}

  /** The active widget of `key`, or null. */
  async byKey(key: string): Promise<Connection | null> {
    if (!KEY.test(key)) return null;
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = await withSystem(this.o.pool, async (c) =>
        (await c.query<{ id: string }>(
          "select id from channel_connections where public_key = $1 and kind = 'web_widget'",
          [key],
        )).rows[0]?.id ?? null);
      // Unknown keys are not remembered: one could be created a moment later.
      if (id) this.#ids.set(key, id);
      if (this.#ids.size > 50_000) this.#ids.delete(this.#ids.keys().next().value!);
    }
    if (!id) return null;
    const conn = await this.o.connections.get(id);
    return conn && conn.status === "active" && conn.kind === "web_widget" ? conn : null;
  }

  /**
   * A session for the visitor: the user the creator's site vouched for (`user` with its HMAC),
   * else the visitor of a still-valid `token` of this widget, else a new anonymous visitor.
   * @throws IdentityRefusedError when `user.hash` is not the HMAC of `user.id`
   */
  async startSession(
    conn: Connection,
    o: { token?: string; user?: { id: string; hash: string; name?: string } },
  ): Promise<{ token: string; expiresAt: number; visitor: WidgetVisitor }> {
    const secret = secretOf(conn);
    let visitor: WidgetVisitor | null = null;
    if (o.user) {
      if (!verifyIdentity(secret, o.user.id, o.user.hash)) throw new IdentityRefusedError();
      visitor = {
        externalUserId: `u:${o.user.id}`,
        identified: true,
        ...(o.user.name ? { displayName: o.user.name } : {}),
      };
    } else if (o.token) {
      const known = await verifySession({
        identitySecret: secret,
        connectionId: conn.id,
        token: o.token,
      });
      // A signed-in user who signed out becomes an anonymous visitor again.
      if (known && !known.identified) visitor = known;
    }
    visitor ??= { externalUserId: `v:${crypto.randomUUID()}`, identified: false };
    const signed = await signSession({ identitySecret: secret, connectionId: conn.id, visitor });
    return { ...signed, visitor };
  }

  async authenticate(
    token: string,
    o: { connectionId?: string },
  ): Promise<SocketPrincipal | null> {
    const aud = tokenAudience(token);
    if (!aud || (o.connectionId && aud !== o.connectionId)) return null;
    const conn = await this.o.connections.get(aud);
    if (!conn || conn.kind !== "web_widget" || conn.status !== "active") return null;
    const visitor = await verifySession({
      identitySecret: secretOf(conn),
      connectionId: conn.id,
      token,
    });
    if (!visitor) return null;
    return {
      creatorId: conn.creatorId,
      connectionId: conn.id,
      channel: "web_widget",
      externalUserId: visitor.externalUserId,
      identified: visitor.identified,
      ...(visitor.displayName ? { displayName: visitor.displayName } : {}),
    };
  }
}

/** Widgets made before identity secrets existed have none: their sessions cannot be signed. */
function secretOf(conn: Connection): string {
  const s = conn.secrets.identity_secret;
  if (!s) throw new Error(`Widget ${conn.id} has no identity secret: reconnect it`);
  return s;
}
