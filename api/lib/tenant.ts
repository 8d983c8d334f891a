import type { Context } from "hono";
import type pg from "pg";
import { withTenant } from "../../db/tenant.ts";
import type { ApiEnv } from "../env.ts";
import type { ActorAddress, Protocol, StagedTell } from "../../runtime/mod.ts";

// Actor messages written in a transaction, published once it has committed.
const pendingTells = new WeakMap<pg.PoolClient, StagedTell[]>();

/**
 * Runs `fn` in one transaction as the calling creator (row-level security applies). Actor
 * messages it sent with `tellActor` go out after the commit, and never if it rolls back.
 */
export async function inTenant<T>(
  c: Context<ApiEnv>,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const { pool, actors } = c.get("services");
  let rows: StagedTell[] = [];
  const result = await withTenant(pool, c.get("auth").creatorId, async (client) => {
    pendingTells.set(client, rows = []);
    try {
      return await fn(client);
    } finally {
      pendingTells.delete(client);
    }
  });
  // After the commit. Should this fail, the runtime's outbox sweep sends them within seconds.
  if (rows.length > 0) await actors.publishOutbox(rows);
  return result;
}

/**
 * Tells an actor about a change, in the transaction of `inTenant` that makes the change. A
 * contract's address (api/lib/actors.ts) types the kind and the data.
 */
export async function tellActor<P extends Protocol, K extends keyof P & string>(
  client: pg.PoolClient,
  c: Context<ApiEnv>,
  to: ActorAddress<P>,
  kind: K,
  data: P[K]["input"],
  opts: { msgId: string },
): Promise<void> {
  const rows = pendingTells.get(client);
  if (!rows) throw new Error("tellActor() must run inside inTenant()");
  rows.push(await c.get("services").actors.tellWithin(client, to, kind, data, opts));
}

/** Records a change in the audit log, in the caller's transaction so it commits with the change. */
export async function audit(
  client: pg.PoolClient,
  c: Context<ApiEnv>,
  action: string,
  resource: { type: string; id?: string | null },
  details: Record<string, unknown> = {},
): Promise<void> {
  const auth = c.get("auth");
  await client.query(
    `insert into audit_log (creator_id, actor_kind, actor_subject, action, resource_type,
       resource_id, details, request_id) values ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      auth.creatorId,
      auth.kind,
      auth.subject,
      action,
      resource.type,
      resource.id ?? null,
      details,
      c.get("requestId"),
    ],
  );
}
