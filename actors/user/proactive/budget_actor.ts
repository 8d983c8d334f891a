/**
 * The proactive side of one creator (actor `proactive`, id: the creator's id): the settings the
 * creator configured, and the month's count of WhatsApp templates sent outside the window, which
 * every UserActor of the creator reserves from before sending one (so the cap holds across all
 * of them, one turn at a time).
 */
import { z } from "zod";
import { defineActor, defineContract } from "../../../runtime/mod.ts";
import { NoData, Ok } from "../../contracts/common.ts";
import { defaultProactiveSettings, ProactiveSettings } from "./settings.ts";

export const PrepareReply = z.object({
  settings: ProactiveSettings,
  /** Set when a template was asked for: whether this month's budget had room (and took it). */
  templateGranted: z.boolean().optional(),
});
export type PrepareReply = z.infer<typeof PrepareReply>;

export const proactiveContract = defineContract("proactive", {
  /** The creator saved new settings (told by the admin API after its write). */
  configure: { input: ProactiveSettings, reply: Ok },
  /** A UserActor about to nudge: the settings, and one template of `templateMonth` reserved. */
  prepare: {
    input: z.object({ templateMonth: z.string().regex(/^\d{4}-\d{2}$/).optional() }),
    reply: PrepareReply,
  },
  /** Templates reserved per month (`YYYY-MM`). */
  usage: { input: NoData, reply: z.record(z.string(), z.number()) },
});

const BudgetState = z.object({
  settings: ProactiveSettings,
  templates: z.record(z.string(), z.number()),
});

export const proactiveBudgetActor = defineActor(proactiveContract, {
  state: BudgetState,
  initial: (): z.infer<typeof BudgetState> => ({
    settings: defaultProactiveSettings(),
    templates: {},
  }),
  handlers: {
    configure: (ctx, settings) => {
      ctx.state.settings = settings;
      return { ok: true as const };
    },
    prepare: (ctx, m) => {
      const s = ctx.state;
      if (!m.templateMonth) return { settings: s.settings };
      const used = s.templates[m.templateMonth] ?? 0;
      const granted = used < s.settings.monthlyTemplateCap;
      if (granted) s.templates[m.templateMonth] = used + 1;
      // Older months are no longer asked for.
      for (const k of Object.keys(s.templates)) if (k < m.templateMonth) delete s.templates[k];
      return { settings: s.settings, templateGranted: granted };
    },
    usage: (ctx) => ctx.state.templates,
  },
});

/** The proactive actor of one creator. */
export const proactiveAddress = (creatorId: string) => proactiveContract.address(creatorId);
