import type pg from "pg";
import { withTenant } from "../../db/tenant.ts";
import type { SecretBox } from "../../db/secrets.ts";

/** The additional data a channel's secrets are sealed with: a ciphertext moved to another row fails. */
export const channelContext = (creatorId: string, channelId: string) =>
  `channel:${creatorId}:${channelId}`;

/**
 * Decrypts a channel connection's secrets (bot token, access token, app secret...), for the
 * channel workers. Returns null when the connection does not exist for this creator.
 */
export async function readChannelSecrets(
  pool: pg.Pool,
  box: SecretBox,
  creatorId: string,
  channelId: string,
): Promise<Record<string, string> | null> {
  const row = await withTenant(
    pool,
    creatorId,
    async (client) =>
      (await client.query<{ secret_iv: Uint8Array | null; secret_ciphertext: Uint8Array | null }>(
        "select secret_iv, secret_ciphertext from channel_connections where id = $1",
        [channelId],
      )).rows[0],
  );
  if (!row) return null;
  if (!row.secret_iv || !row.secret_ciphertext) return {};
  return JSON.parse(
    await box.open(
      { iv: row.secret_iv, ciphertext: row.secret_ciphertext },
      channelContext(creatorId, channelId),
    ),
  );
}
