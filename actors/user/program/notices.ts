/** What the coach says about programs on its own behalf (the flows say the rest). */
export const PROGRAM_NOTICES = {
  already: (name: string) => `You're already in "${name}". Send /skip, /pause or /restart.`,
  notFound: (query: string) => `I couldn't find a program called "${query.slice(0, 80)}".`,
  none: "You're not in a program right now.",
  paused: (name: string) => `"${name}" is paused. Send /resume when you want to go on.`,
  resumed: (name: string) => `Let's go on with "${name}".`,
  unenrolled: (name: string) => `You've left "${name}". You can start it again any time.`,
  restarted: (name: string) => `Starting "${name}" again from the beginning.`,
} as const;
