import type pg from "pg";
import { tenantPoolOf } from "./pools.ts";

/**
 * Runs `fn` in one transaction as the tenant `creatorId`, with `app.creator_id` set, so row-level
 * security limits every query to that creator's rows even if the query forgets its own filter.
 * On a node's `NodePool` it runs on the tenant pool, whose connections log in as `coachd_app`
 * (no BYPASSRLS, owns nothing); on a plain pool (tests, a single DATABASE_URL) the role is
 * switched to `coachd_app` for the transaction.
 */
export function withTenant<T>(
  pool: pg.Pool,
  creatorId: string,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  return withSystem(tenantPoolOf(pool), async (client) => {
    // One round trip for both: set_config('role', …, true) is SET LOCAL ROLE.
    await client.query(
      "select set_config('role', 'coachd_app', true), set_config('app.creator_id', $1, true)",
      [creatorId],
    );
    return await fn(client);
  });
}

/**
 * Runs `fn` in one transaction with the connecting role, for the few operations that precede a
 * tenant (sign-up, login, API-key lookup) or span tenants (workers acting for a known creator).
 */
export async function withSystem<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  // A connection lost mid-transaction (Postgres restarted, the session ended) fails the query in
  // flight; without a listener its error event would be thrown at the process. A broken client
  // is destroyed on release instead of going back to the pool.
  let broken: Error | undefined;
  const onError = (err: Error) => (broken = err);
  client.on("error", onError);
  try {
    await client.query("begin");
    const result = await fn(client);
    await client.query("commit");
    return result;
  } catch (err) {
    await client.query("rollback").catch((rollbackErr) => (broken ??= rollbackErr));
    throw err;
  } finally {
    client.off("error", onError);
    client.release(broken);
  }
}
