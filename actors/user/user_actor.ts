import { z } from "zod";
import { defineActor } from "../../runtime/mod.ts";
import { parseTenantActorId } from "../ids.ts";
import { type IndexErase, type IndexPut, indexSubject } from "../../knowledge/mod.ts";
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
  /**
   * This life of the user in the vector index (set with the first indexed profile) and the
   * version of the last profile sent there: an erase retires the generation, and an older
   * version arriving late never replaces a newer one.
   */
  indexGen: z.string().uuid().optional(),
  indexVersion: z.number().int().min(0).optional(),
});

/**
 * UserActor, one per end user per creator (id `<creatorId>:<userId>`). This part holds the
 * profile (goals, preferences, language, recent topics) that retrieval and prompts use; an
 * updated profile is also embedded in the creator's `profiles` collection through the vector
 * index (`index.profiles.put`, applied by its worker after the turn commits).
 */
export function userActor() {
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
      updateProfile: h(ProfileUpdate, (ctx, update) => {
        const { creatorId } = parseTenantActorId(ctx.self.id);
        const s = ctx.state;
        s.profile = applyProfileUpdate(s.profile, update);
        s.updatedAt = ctx.now();
        const text = profileText(s.profile);
        if (text) {
          const gen = s.indexGen ??= crypto.randomUUID();
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
        return s.profile;
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
      erase: h(z.object({ reason: z.string() }), (ctx) => {
        const { creatorId } = parseTenantActorId(ctx.self.id);
        const erase: IndexErase = {
          creatorId,
          documentId: ctx.self.id,
          // Without a generation nothing was indexed by this life; a fresh one still removes a
          // profile written before records carried one.
          gen: ctx.state.indexGen ?? crypto.randomUUID(),
        };
        ctx.emit(indexSubject("profiles", "erase"), erase);
        ctx.erase();
      }),
    }),
  });
}
