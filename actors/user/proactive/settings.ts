/**
 * What a creator decides about reaching out on their own (admin API `/v1/proactive-settings`):
 * when to nudge, how often at most, and what a WhatsApp template outside the 24-hour window may
 * cost per month. Every field has a default, so a creator who set nothing gets sensible nudges.
 */
import { z } from "zod";
import { TimeZone } from "../../contracts/user.ts";

export const ProactiveSettings = z.object({
  /** Master switch for the creator's proactive messages. */
  enabled: z.boolean().default(true),
  /** Days without a message after which the person gets an inactivity nudge. */
  inactivityDays: z.number().int().min(1).max(60).default(3),
  /** Re-engagement nudges after the first one, each gap twice the one before; then silence. */
  reengageLimit: z.number().int().min(0).max(10).default(3),
  /** The first re-engagement gap in days (then doubled each time). */
  reengageBaseDays: z.number().int().min(1).max(30).default(2),
  /** Proactive messages per person per local day and per rolling 7 days at most. */
  dailyCap: z.number().int().min(0).max(20).default(2),
  weeklyCap: z.number().int().min(0).max(50).default(5),
  /** Minutes after the person's last message during which the conversation counts as live. */
  liveMinutes: z.number().int().min(1).max(240).default(10),
  /** Streak lengths (days in a row) that are celebrated. */
  milestones: z.array(z.number().int().min(2).max(365)).max(10).default([3, 7, 14, 30]),
  /** Outside WhatsApp's 24-hour window: send the connection's approved template, or skip. */
  whatsappTemplates: z.boolean().default(true),
  /** Templates outside the window are charged: at most this many per calendar month (UTC). */
  monthlyTemplateCap: z.number().int().min(0).max(1_000_000).default(1000),
  /** Time zone of people whose own is not known yet. */
  defaultTimeZone: TimeZone.default("UTC"),
  /** Local hour for people whose active hours are not learned yet. */
  defaultHour: z.number().int().min(0).max(23).default(18),
});
export type ProactiveSettings = z.infer<typeof ProactiveSettings>;

/** A change from the admin API: absent fields keep their value (no defaults filled in). */
export const ProactiveSettingsUpdate = z.object(
  Object.fromEntries(
    Object.entries(ProactiveSettings.shape).map(([k, v]) => [k, v.unwrap().optional()]),
  ) as {
    [K in keyof typeof ProactiveSettings.shape]: z.ZodOptional<
      ReturnType<(typeof ProactiveSettings.shape)[K]["unwrap"]>
    >;
  },
).strict();
export type ProactiveSettingsUpdate = z.infer<typeof ProactiveSettingsUpdate>;

export const defaultProactiveSettings = (): ProactiveSettings => ProactiveSettings.parse({});
