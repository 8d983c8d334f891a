import type { Profile, ProfileUpdate } from "../contracts/user.ts";

export function emptyProfile(): Profile {
  return { goals: [], preferences: {}, language: "en", topics: [] };
}

/** Applies an update; lists replace, preferences merge. */
export function applyProfileUpdate(profile: Profile, update: ProfileUpdate): Profile {
  return {
    ...profile,
    ...(update.name !== undefined ? { name: update.name } : {}),
    ...(update.goals ? { goals: update.goals } : {}),
    ...(update.language ? { language: update.language } : {}),
    preferences: { ...profile.preferences, ...update.preferences },
  };
}

/** Moves topics to the front of the list, keeping it short. */
export function noteTopics(profile: Profile, topics: string[]): Profile {
  const next = [...topics, ...profile.topics.filter((t) => !topics.includes(t))];
  return { ...profile, topics: next.slice(0, 10) };
}

/** The profile as one text, for its embedding in the profiles collection. */
export function profileText(p: Profile): string {
  return [
    p.goals.length ? `Goals: ${p.goals.join("; ")}` : "",
    Object.keys(p.preferences).length
      ? `Preferences: ${Object.entries(p.preferences).map(([k, v]) => `${k}: ${v}`).join("; ")}`
      : "",
    p.topics.length ? `Interested in: ${p.topics.join(", ")}` : "",
  ].filter(Boolean).join("\n");
}
