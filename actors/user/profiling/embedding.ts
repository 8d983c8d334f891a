/**
 * The profile's embedding in the creator's `profiles` collection, so a creator can ask for
 * "people like this one": each change to what the profile says is sent to the vector index
 * (`index.profiles.put`, applied by its worker after the turn commits), versioned so a late
 * older one never replaces a newer one.
 */
import type { TurnContext } from "../../../runtime/mod.ts";
import { type IndexPut, indexSubject } from "../../../knowledge/mod.ts";
import { parseTenantActorId, turnUuid } from "../../ids.ts";
import type { Profile } from "../../contracts/user.ts";
import { profileText } from "../profile.ts";

interface S {
  profile: Profile;
  indexGen?: string;
  indexVersion?: number;
}

/** Sends the profile's text to the vector index, when it has any. */
export function reindexProfile(ctx: TurnContext<S>): void {
  const s = ctx.state;
  const text = profileText(s.profile);
  if (!text) return;
  const { creatorId } = parseTenantActorId(ctx.self.id);
  const gen = s.indexGen ??= turnUuid(ctx, "index-gen");
  s.indexVersion = (s.indexVersion ?? 0) + 1;
  const put: IndexPut = {
    creatorId,
    documentId: ctx.self.id,
    gen,
    // One record per life of the user, replaced by each newer version.
    id: `${ctx.self.id}:${gen}`,
    version: s.indexVersion,
    text,
  };
  ctx.emit(indexSubject("profiles", "put"), put);
}
