import type pg from "pg";

/**
 * Runs `fn` in one transaction as the tenant `creatorId`: the role is switched to `coachd_app`
 * (no BYPASSRLS) and `app.creator_id` is set, so row-level security limits every query to that
 * creator's rows even if the query forgets its own filter.
 */
export async function withTenant<T>(
  pool: pg.Pool,
  creatorId: string,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    // One round trip for both: set_config('role', …, true) is SET LOCAL ROLE.
    await client.query(
      "select set_config('role', 'coachd_app', true), set_config('app.creator_id', $1, true)",
      [creatorId],
    );
    const result = await fn(client);
    await client.query("commit");
    return result;
  } catch (err) {
    await client.query("rollback").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
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
  try {
    await client.query("begin");
    const result = await fn(client);
    await client.query("commit");
    return result;
  } catch (err) {
    await client.query("rollback").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
