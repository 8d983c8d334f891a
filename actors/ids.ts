import { TerminalError } from "../runtime/mod.ts";

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
