/** What the UserActor learns about a person from how they interact (see ./observe.ts). */
import { z } from "zod";

export const Profiling = z.object({
  /** Messages by local hour of day (0–23), older ones fading. */
  hours: z.array(z.number()).length(24),
  /** Sentiment of recent messages in [-1, 1]: a moving average and the last few. */
  sentiment: z.object({ average: z.number(), recent: z.array(z.number()), samples: z.number() }),
  /** A language seen once waits for a second message in it before it becomes the profile's. */
  languageCandidate: z.string().nullable(),
  /** Provider ids of the last messages counted: one delivered twice is counted once. */
  recentIds: z.array(z.string()),
  /** When the profile was last sent to the read model, and the risk level it had. */
  reportedAt: z.number().nullable(),
  reportedLevel: z.string().nullable(),
});
export type Profiling = z.infer<typeof Profiling>;

export const emptyProfiling = (): Profiling => ({
  hours: Array(24).fill(0),
  sentiment: { average: 0, recent: [], samples: 0 },
  languageCandidate: null,
  recentIds: [],
  reportedAt: null,
  reportedLevel: null,
});
