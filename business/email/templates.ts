/**
 * E-mail templates in files: `templates/<name>/<locale>.txt` (its first line `Subject: ...`) and
 * `<locale>.html`, with `{{placeholders}}` (escaped in HTML). A locale without a file falls back
 * to English.
 */
import { fileURLToPath } from "node:url";

export const TEMPLATE_NAMES = [
  "email_verification",
  "signup_existing_account",
  "password_reset",
  "member_invitation",
  "handoff_waiting",
  "plan_limit_reached",
  "payment_failed",
  "webhook_endpoint_disabled",
  "weekly_digest",
] as const;
export type TemplateName = typeof TEMPLATE_NAMES[number];
export const LOCALES = ["en", "de"] as const;
export type Locale = typeof LOCALES[number];

export interface Rendered {
  locale: Locale;
  subject: string;
  text: string;
  html: string;
}

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TemplateError";
  }
}

const cache = new Map<string, string>();

async function file(name: TemplateName, locale: Locale, ext: "txt" | "html"): Promise<string> {
  const key = `${name}/${locale}.${ext}`;
  let text = cache.get(key);
  if (text === undefined) {
    text = await Deno.readTextFile(fileURLToPath(new URL(`./templates/${key}`, import.meta.url)));
    cache.set(key, text);
  }
  return text;
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");

function fill(template: string, vars: Record<string, string>, escape: boolean): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, key: string) => {
    const value = vars[key];
    if (value === undefined) throw new TemplateError(`Template variable ${key} is not given`);
    return escape ? escapeHtml(value) : value;
  });
}

/** Picks `en` unless the asked locale (`de`, `de-AT`) has templates. */
export function localeOf(asked: string | null | undefined): Locale {
  const base = (asked ?? "").toLowerCase().split(/[-_]/)[0];
  return (LOCALES as readonly string[]).includes(base ?? "") ? base as Locale : "en";
}

/** Renders one template; throws TemplateError when a placeholder has no value. */
export async function render(
  name: TemplateName,
  asked: string | null | undefined,
  vars: Record<string, string>,
): Promise<Rendered> {
  const locale = localeOf(asked);
  const [txt, html] = await Promise.all([file(name, locale, "txt"), file(name, locale, "html")]);
  const [first, ...rest] = txt.split("\n");
  if (!first?.startsWith("Subject: ")) {
    throw new TemplateError(`${name}/${locale}.txt must start with a Subject: line`);
  }
  return {
    locale,
    subject: fill(first.slice("Subject: ".length), vars, false),
    text: fill(rest.join("\n").replace(/^\n+/, ""), vars, false),
    html: fill(html, vars, true),
  };
}
