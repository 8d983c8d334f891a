/**
 * A web widget's settings as its channel connection keeps them: the origins allowed to embed it
 * and its look (title, colour, greeting, quick replies, theme), with defaults for what the
 * creator did not set. The look is public: it is what every visitor's browser is sent.
 */
import { z } from "zod";
import type { Connection } from "../core/connections.ts";

const Color = z.string().regex(/^#[0-9a-fA-F]{6}$/, "a colour: #rrggbb");

export const WidgetLook = z.strictObject({
  /** Shown in the panel's header; default: the connection's name. */
  title: z.string().min(1).max(80).optional(),
  /** Launcher, header and the visitor's bubbles. */
  color: Color.optional(),
  /** Text on `color`. */
  text_color: Color.optional(),
  /** The coach's first words, shown when a visitor opens the panel. */
  greeting: z.string().min(1).max(500).optional(),
  /** Buttons a visitor can press instead of typing (at most 4). */
  quick_replies: z.array(z.string().min(1).max(60)).max(4).optional(),
  /** `auto` follows the visitor's system setting. */
  theme: z.enum(["auto", "light", "dark"]).optional(),
  position: z.enum(["right", "left"]).optional(),
  /** Show "Talk to a human" (default true). */
  handoff: z.boolean().optional(),
});

/** What the widget script is sent: every field filled in. */
export interface PublicLook {
  title: string;
  color: string;
  textColor: string;
  greeting: string;
  quickReplies: string[];
  theme: "auto" | "light" | "dark";
  position: "right" | "left";
  handoff: boolean;
}

const LookShape = z.object({
  title: z.string().optional(),
  color: z.string().optional(),
  text_color: z.string().optional(),
  greeting: z.string().optional(),
  quick_replies: z.array(z.string()).optional(),
  theme: z.enum(["auto", "light", "dark"]).optional(),
  position: z.enum(["right", "left"]).optional(),
  handoff: z.boolean().optional(),
}).catch({});

export function publicLook(conn: Pick<Connection, "name" | "config">): PublicLook {
  const look = LookShape.parse(conn.config.look ?? {});
  return {
    title: look.title ?? conn.name,
    color: look.color ?? "#3b5bdb",
    textColor: look.text_color ?? "#ffffff",
    greeting: look.greeting ?? "Hi! Ask me anything.",
    quickReplies: look.quick_replies ?? [],
    theme: look.theme ?? "auto",
    position: look.position ?? "right",
    handoff: look.handoff ?? true,
  };
}

/** The origins (scheme://host[:port]) allowed to embed the widget. */
export function allowedOrigins(conn: Pick<Connection, "config">): string[] {
  const v = conn.config.allowed_origins;
  return Array.isArray(v) ? v.filter((o): o is string => typeof o === "string") : [];
}

/** True when `origin` (an `Origin` header) may use the widget of `conn`. */
export function originAllowed(conn: Pick<Connection, "config">, origin: string | null): boolean {
  if (!origin) return false;
  return allowedOrigins(conn).some((o) => o.toLowerCase() === origin.toLowerCase());
}
