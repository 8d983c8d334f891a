/** Webhook endpoint secrets: generated once, shown once, stored sealed (db/secrets.ts). */
import { Buffer } from "node:buffer";
import type { SecretBox } from "../../db/secrets.ts";

/** A new Standard Webhooks secret: `whsec_` and 24 random bytes in base64. */
export function newWebhookSecret(): string {
  return `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64")}`;
}

/** The additional data that binds a sealed secret to its endpoint. */
export const endpointContext = (creatorId: string, endpointId: string) =>
  `webhook-endpoint:${creatorId}:${endpointId}`;

export async function sealSecret(box: SecretBox, creatorId: string, id: string, secret: string) {
  return await box.seal(secret, endpointContext(creatorId, id));
}

export async function openSecret(
  box: SecretBox,
  row: { creator_id: string; id: string; secret_iv: Uint8Array; secret_ciphertext: Uint8Array },
): Promise<string> {
  return await box.open(
    { iv: row.secret_iv, ciphertext: row.secret_ciphertext },
    endpointContext(row.creator_id, row.id),
  );
}
