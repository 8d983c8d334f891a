import type { Context } from "hono";
import type pg from "pg";
import { withTenant } from "../../app/db/tenant.ts";
import type { ApiEnv } from "../env.ts";

/** Runs `fn` in one transaction as the calling creator (row-level security applies). */
export function inTenant<T>(
  c: Context<ApiEnv>,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  return withTenant(c.get("services").pool, c.get("auth").creatorId, fn);
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

/** Builds `set a = $n, b = $m` for the fields present in `patch`, from an allow-list. */
export function updateSet(
  patch: Record<string, unknown>,
  columns: Record<string, string>,
  params: unknown[],
): string[] {
  const sets: string[] = [];
  for (const [field, column] of Object.entries(columns)) {
    if (patch[field] === undefined) continue;
    params.push(patch[field]);
    sets.push(`${column} = $${params.length}`);
  }
  return sets;
}
