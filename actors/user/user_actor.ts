import { z } from "zod";
import { defineActor } from "../../runtime/mod.ts";
import { parseTenantActorId } from "../ids.ts";
import type { VectorStore } from "../../knowledge/vector_store.ts";
import type { Embedder } from "../../knowledge/models.ts";
import {
  applyProfileUpdate,
  emptyProfile,
  noteTopics,
  Profile,
  profileText,
  ProfileUpdate,
} from "./profile.ts";

/** The published version of each program the user follows; null once it is unpublished. */
const ProgramVersions = z.record(
  z.string(),
  z.object({ version: z.number().int().nullable(), at: z.number() }),
);

const UserState = z.object({
  profile: Profile,
  updatedAt: z.number(),
  // Rows written before programs were tracked have no such field.
  programs: ProgramVersions.default({}),
});

export interface UserActorDeps {
  store?: VectorStore;
  embedder?: Embedder;
}

/**
 * UserActor, one per end user per creator (id `<creatorId>:<userId>`). This part holds the
 * profile (goals, preferences, language, recent topics) that retrieval and prompts use; the
 * profile is also embedded in the creator's `profiles` collection.
 */
export function userActor(deps: UserActorDeps = {}) {
  const index = async (id: string, profile: Profile) => {
    if (!deps.store || !deps.embedder) return;
    const text = profileText(profile);
    if (!text) return;
    const { creatorId } = parseTenantActorId(id);
    const [embedding] = await deps.embedder.embed([text]);
    // Upsert by the actor id: a redelivered turn writes the same record again.
    await deps.store.upsert("profiles", [{
      id,
      embedding: embedding!,
      text,
      meta: { creator_id: creatorId, knowledge_base_id: "", document_id: id },
    }]);
  };
  return defineActor({
    type: "user",
    state: UserState,
    initial: (): z.infer<typeof UserState> => ({
      profile: emptyProfile(),
      updatedAt: 0,
      programs: {},
    }),
    handlers: (h) => ({
      getProfile: h(z.null().optional(), (ctx) => ctx.state.profile),
      updateProfile: h(ProfileUpdate, async (ctx, update) => {
        parseTenantActorId(ctx.self.id);
        ctx.state.profile = applyProfileUpdate(ctx.state.profile, update);
        ctx.state.updatedAt = ctx.now();
        await index(ctx.self.id, ctx.state.profile);
        return ctx.state.profile;
      }),
      noteTopics: h(z.array(z.string()).max(10), (ctx, topics) => {
        ctx.state.profile = noteTopics(ctx.state.profile, topics);
        ctx.state.updatedAt = ctx.now();
      }),
      /** A program the user is enrolled in has a new published version. */
      programPublished: h(
        z.object({ programId: z.string().uuid(), version: z.number().int().min(1) }),
        (ctx, m) => {
          const programs = ctx.state.programs ??= {};
          // Messages may arrive late: never go back to an older version.
          const known = programs[m.programId]?.version ?? 0;
          if (m.version > known) programs[m.programId] = { version: m.version, at: ctx.now() };
        },
      ),
      programUnpublished: h(z.object({ programId: z.string().uuid() }), (ctx, m) => {
        (ctx.state.programs ??= {})[m.programId] = { version: null, at: ctx.now() };
      }),
      getPrograms: h(z.null().optional(), (ctx) => ctx.state.programs ?? {}),
      /** The creator deleted the end user: forget the profile, its embedding and every reminder. */
      erase: h(z.object({ reason: z.string() }), async (ctx) => {
        const { creatorId } = parseTenantActorId(ctx.self.id);
        await deps.store?.deleteDocument("profiles", creatorId, ctx.self.id);
        ctx.erase();
      }),
    }),
  });
}
