import type pg from "pg";
import type { LimitName } from "./plans.ts";

export type Usage = Record<LimitName, number>;

/** The first day of `now`'s month (UTC), the key of monthly counters. */
export const monthOf = (now: Date) =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString().slice(0, 10);

/** What the tenant of this transaction uses now (row-level security scopes every count). */
export async function usageOf(client: pg.PoolClient, now: Date): Promise<Usage> {
  const { rows: [u] } = await client.query<Record<LimitName, string>>(
    `select (select count(*) from end_users) end_users,
       coalesce((select messages from usage_monthly where month = $1::date), 0) messages_per_month,
       (select count(*) from knowledge_bases) knowledge_bases,
       (select coalesce(sum(size_bytes), 0) from documents) document_bytes,
       (select count(*) from channel_connections) channels,
       (select count(*) from creator_members) members`,
    [monthOf(now)],
  );
  return Object.fromEntries(Object.entries(u!).map(([k, v]) => [k, Number(v)])) as Usage;
}
