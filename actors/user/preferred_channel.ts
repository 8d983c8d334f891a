/**
 * Where a proactive message should reach the person: the channel they chose for nudges
 * (Preferences.nudgeChannel) when they can still be reached there, else the one they were last
 * active on. The proactive engine calls it at send time with the UserActor's state.
 */
import type { Channel } from "../contracts/channel.ts";
import type { ChannelState } from "./inbound.ts";
import type { StoredPreferences } from "./preferences.ts";

export interface PreferredChannel {
  channel: Channel;
  /** The identity to send to on that channel (the most recently active one there). */
  identityId: string;
  /** Why this one: the person chose it, or it is where they were last active. */
  reason: "chosen" | "last_active";
}

/**
 * @param s the UserActor's state (its channel state and stored preferences)
 * @returns the channel and identity, or undefined when the person never wrote on any channel
 */
export function preferredChannel(
  s: { preferences?: StoredPreferences; channels: ChannelState },
): PreferredChannel | undefined {
  const identities = Object.entries(s.channels.identities)
    .sort(([, a], [, b]) => b.lastInboundAt - a.lastInboundAt);
  const chosen = s.preferences?.nudgeChannel;
  if (chosen) {
    const on = identities.find(([, i]) => i.channel === chosen);
    if (on) return { channel: chosen, identityId: on[0], reason: "chosen" };
  }
  const last = identities[0];
  return last
    ? { channel: last[1].channel, identityId: last[0], reason: "last_active" }
    : undefined;
}
