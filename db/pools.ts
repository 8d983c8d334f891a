import pg from "pg";

/** The roles the node logs in as (created by migrations/0300_least_privilege.sql). */
export const SYSTEM_ROLE = "coachd_system";
export const TENANT_ROLE = "coachd_app";

/**
 * The node's pool (role `coachd_system`), carrying a second pool whose connections log in as
 * `coachd_app`: `withTenant()` runs there, so a tenant transaction's session is a role without
 * BYPASSRLS that owns nothing, and no `reset role` leads out of row-level security. Everything
 * else (the runtime, `withSystem()`, plain queries) uses this pool.
 */
export class NodePool extends pg.Pool {
  readonly tenant: pg.Pool;

  constructor({ system, tenant }: { system: pg.PoolConfig; tenant: pg.PoolConfig }) {
    super(system);
    this.tenant = new pg.Pool(tenant);
  }

  override async end(): Promise<void> {
    await Promise.all([super.end(), this.tenant.end()]);
  }
}

/** The pool tenant transactions use: the tenant pool of a `NodePool`, else `pool` itself. */
export function tenantPoolOf(pool: pg.Pool): pg.Pool {
  return pool instanceof NodePool ? pool.tenant : pool;
}
