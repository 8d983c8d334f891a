import { z } from "zod";
import { defineActor } from "../../runtime/mod.ts";
import { parseTenantActorId, turnUuid } from "../ids.ts";
import { type IndexErase, type IndexPut, indexSubject } from "../../knowledge/mod.ts";
import { Profile, ProgramVersions, userContract } from "../contracts/user.ts";
import { applyPreferencesUpdate, preferencesOf, StoredPreferences } from "./preferences.ts";
import { applyProfileUpdate, emptyProfile, noteTopics, profileText } from "./profile.ts";
import { ChannelState, emptyChannelState, flush, onInbound, rememberIdentity } from "./inbound.ts";
import { emptyProgramsState, ProgramsState } from "./program/state.ts";
import * as programs from "./program/programs.ts";
import { emptyGamification, Gamification, metricsOf } from "./badges/progress.ts";
import { awardBadge } from "./badges/awards.ts";
import { timeZoneOf } from "./program/schedule.ts";
import { insightsOf, observeInbound, refresh } from "./profiling/observe.ts";
import { emptyProfiling, Profiling } from "./profiling/state.ts";
import { emptyProactiveState, ProactiveState } from "./proactive/state.ts";
import { noteActivity, onProactiveCheck, onProgramStepDue } from "./proactive/engine.ts";

export interface UserActorOptions {
  /** Messages from one person within this window get one answer (default 1.5 s). */
  debounceMs?: number;
}

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
  // Rows written before the channels were tracked have none.
  channels: ChannelState.default(emptyChannelState),
  // Rows written before preferences existed have none: every default applies.
  preferences: StoredPreferences.default({}),
  // Rows written before programs ran, badges were judged or profiles learned have none.
  programRuns: ProgramsState.default(emptyProgramsState),
  gamification: Gamification.default(emptyGamification),
  profiling: Profiling.default(emptyProfiling),
  // Rows written before the proactive engine have learned nothing yet.
  proactive: ProactiveState.default(emptyProactiveState),
});
type UserState = z.infer<typeof UserState>;

/**
 * UserActor, one per end user per creator (id `<creatorId>:<userId>`). It takes in what the
 * person sends on every channel (./inbound.ts) and holds the profile (goals, preferences, language, recent topics) that retrieval and prompts use; an
 * updated profile is also embedded in the creator's `profiles` collection through the vector
 * index (`index.profiles.put`, applied by its worker after the turn commits).
 */
export function userActor({ debounceMs = 1500 }: UserActorOptions = {}) {
  return defineActor(userContract, {
    state: UserState,
    initial: (): UserState => ({
      profile: emptyProfile(),
      updatedAt: 0,
      programs: {},
      channels: emptyChannelState(),
      preferences: {},
      programRuns: emptyProgramsState(),
      gamification: emptyGamification(),
      profiling: emptyProfiling(),
      proactive: emptyProactiveState(),
    }),
    handlers: {
      getProfile: (ctx) => ctx.state.profile,
      updateProfile: (ctx, update) => {
        const { creatorId } = parseTenantActorId(ctx.self.id);
        const s = ctx.state;
        s.profile = applyProfileUpdate(s.profile, update);
        s.updatedAt = ctx.now();
        const text = profileText(s.profile);
        if (text) {
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
        return s.profile;
      },
      noteTopics: (ctx, topics) => {
        ctx.state.profile = noteTopics(ctx.state.profile, topics);
        ctx.state.updatedAt = ctx.now();
      },
      programPublished: (ctx, m) => {
        const programs = ctx.state.programs ??= {};
        // Messages may arrive late: never go back to an older version.
        const known = programs[m.programId]?.version ?? 0;
        if (m.version > known) programs[m.programId] = { version: m.version, at: ctx.now() };
      },
      programUnpublished: (ctx, m) => {
        (ctx.state.programs ??= {})[m.programId] = { version: null, at: ctx.now() };
      },
      getPrograms: (ctx) => ctx.state.programs ?? {},
      getPreferences: (ctx) => preferencesOf(ctx.state),
      updatePreferences: (ctx, update) => {
        if (update.proactive === false && !ctx.state.channels.optedOut) {
          ctx.state.proactive.open = [];
        }
        applyPreferencesUpdate(ctx.state, update);
        ctx.state.updatedAt = ctx.now();
        return preferencesOf(ctx.state);
      },
      getInsights: (ctx) => insightsOf(ctx.state, ctx.now()),
      profileRefresh: (ctx) => refresh(ctx),
      inbound: (ctx, m) => {
        const wasOptedOut = ctx.state.channels.optedOut;
        rememberIdentity(ctx, m);
        // Counters, badges, achievements and the learned profile (./profiling, ./badges).
        observeInbound(ctx, m);
        if (!programs.onProgramInbound(ctx, m)) onInbound(ctx, m, { debounceMs });
        // The proactive engine (./proactive): outcomes of open nudges, streak, next checks.
        noteActivity(ctx, { wasOptedOut });
      },
      enroll: (ctx, m) => programs.enroll(ctx, m),
      programControl: (ctx, m) => programs.control(ctx, m),
      programTick: (ctx, m) => programs.tick(ctx, m),
      programNotFound: (ctx, m) => programs.notFound(ctx, m),
      getEnrollments: (ctx) => programs.enrollmentsOf(ctx),
      awardBadge: (ctx, m) => ({ awarded: awardBadge(ctx, m) }),
      getBadges: (ctx) => ({
        awarded: ctx.state.gamification.awarded,
        achievements: ctx.state.gamification.achievements,
        metrics: metricsOf(ctx.state.gamification, ctx.now(), timeZoneOf(ctx.state)),
      }),
      flushInbound: (ctx) => flush(ctx),
      proactiveCheck: (ctx, m) => onProactiveCheck(ctx, m),
      programStepDue: (ctx, m) => onProgramStepDue(ctx, m),
      getProactive: (ctx) => ctx.state.proactive,
      erase: (ctx) => {
        const { creatorId } = parseTenantActorId(ctx.self.id);
        const erase: IndexErase = {
          creatorId,
          documentId: ctx.self.id,
          // Without a generation nothing was indexed by this life; a fresh one still removes a
          // profile written before records carried one.
          gen: ctx.state.indexGen ?? turnUuid(ctx, "erase-gen"),
        };
        ctx.emit(indexSubject("profiles", "erase"), erase);
        ctx.erase();
      },
    },
  });
}
