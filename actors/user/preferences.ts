/**
 * The person's preferences for proactive messages. Opting out is kept where STOP and START put
 * it (the channel state), so a command, the widget's switch and the app's setting are one switch.
 */
import { z } from "zod";
import { Channel } from "../contracts/channel.ts";
import {
  DEFAULT_QUIET_HOURS,
  type Preferences,
  type PreferencesUpdate,
  TimeZone,
} from "../contracts/user.ts";
import type { ChannelState } from "./inbound.ts";

/** What the actor stores: only what was set, so a changed default reaches everyone. */
export const StoredPreferences = z.object({
  timeZone: TimeZone.optional(),
  quietHours: z.object({ start: z.string(), end: z.string() }).optional(),
  nudgeChannel: Channel.optional(),
});
export type StoredPreferences = z.infer<typeof StoredPreferences>;

interface WithPreferences {
  preferences?: StoredPreferences;
  channels: ChannelState;
}

export function preferencesOf(s: WithPreferences): Preferences {
  const p = s.preferences ?? {};
  return {
    ...(p.timeZone ? { timeZone: p.timeZone } : {}),
    quietHours: p.quietHours ?? { ...DEFAULT_QUIET_HOURS },
    ...(p.nudgeChannel ? { nudgeChannel: p.nudgeChannel } : {}),
    proactive: !s.channels.optedOut,
  };
}

export function applyPreferencesUpdate(s: WithPreferences, u: PreferencesUpdate): void {
  const p = s.preferences ??= {};
  if (u.timeZone !== undefined) p.timeZone = u.timeZone;
  if (u.quietHours !== undefined) p.quietHours = u.quietHours;
  if (u.nudgeChannel === null) delete p.nudgeChannel;
  else if (u.nudgeChannel !== undefined) p.nudgeChannel = u.nudgeChannel;
  if (u.proactive !== undefined) s.channels.optedOut = !u.proactive;
}
