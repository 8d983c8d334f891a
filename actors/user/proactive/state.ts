/** The proactive side of a UserActor's state (the rhythm is the profile's, ../profiling). */
import { z } from "zod";
import { ProactiveSettings } from "./settings.ts";
import { NudgeTrigger } from "./events.ts";

export const ProactiveState = z.object({
  /** The last local date the person wrote on, and how many days in a row up to it. */
  lastActiveDate: z.string().nullable(),
  streak: z.number().int().min(0),
  /** Inactivity nudges sent since the person last wrote (0: none yet). */
  step: z.number().int().min(0),
  /** Nudges sent in the last 8 days (for the caps). */
  sent: z.array(z.object({ at: z.number(), trigger: NudgeTrigger })),
  /** Nudges sent in the last 24 hours whose outcome is still open. */
  open: z.array(z.object({ id: z.uuid(), at: z.number() })),
  /** The creator's settings as last fetched, and when. */
  settings: z.object({ value: ProactiveSettings, at: z.number() }).nullable(),
});
export type ProactiveState = z.infer<typeof ProactiveState>;

export const emptyProactiveState = (): ProactiveState => ({
  lastActiveDate: null,
  streak: 0,
  step: 0,
  sent: [],
  open: [],
  settings: null,
});
