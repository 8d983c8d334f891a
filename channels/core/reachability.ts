import type pg from "pg";
import { withTenant } from "../../db/tenant.ts";

/**
 * Marks a channel identity reachable or not (the person blocked or unblocked the bot); a person
 * we have never met is left alone. Returns whether an identity was changed.
 */
export async function setReachable(
  pool: pg.Pool,
  { creatorId, channel, externalId, reachable, reason }: {
    creatorId: string;
    channel: string;
    externalId: string;
    reachable: boolean;
    reason: string;
  },
): Promise<boolean> {
  const res = await withTenant(pool, creatorId, (c) =>
    c.query(
      `update channel_identities
          set reachable = $3, unreachable_reason = case when $3 then null else $4 end,
              updated_at = now()
        where channel = $1 and external_id = $2 and reachable <> $3`,
      [channel, externalId, reachable, reason],
    ));
  return (res.rowCount ?? 0) > 0;
}
