import { createHash } from "node:crypto";
import { type ActorAddress, TerminalError } from "../runtime/mod.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Id of a per-creator actor: `<creatorId>:<localId>`, so the tenant is part of the address. */
export function tenantActorId(creatorId: string, localId: string): string {
  return `${creatorId}:${localId}`;
}

/** Splits `<creatorId>:<localId>`; a malformed id is a terminal error (retrying cannot fix it). */
export function parseTenantActorId(id: string): { creatorId: string; localId: string } {
  const at = id.indexOf(":");
  const creatorId = id.slice(0, at);
  const localId = id.slice(at + 1);
  if (at < 0 || !UUID.test(creatorId) || !localId) {
    throw new TerminalError(`Actor id "${id}" is not <creatorId uuid>:<id>`);
  }
  return { creatorId, localId };
}

/**
 * A UUID (version 8, RFC 9562) derived from the turn's message and a purpose: the same on every
 * redelivery of the message, so ids made in a turn do not depend on when or how often it ran.
 */
export function turnUuid(
  ctx: { readonly self: ActorAddress; readonly messageId: string },
  purpose: string,
): string {
  const hash = createHash("sha256")
    .update(`${ctx.self.type}/${ctx.self.id}/${ctx.messageId}/${purpose}`)
    .digest();
  hash[6] = (hash[6]! & 0x0f) | 0x80;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}
