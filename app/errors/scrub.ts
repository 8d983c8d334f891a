/**
 * What leaves for error tracking carries nothing personal: no message text, e-mail addresses,
 * phone numbers, tokens or keys. Text is scrubbed by pattern (and quoted passages, where a
 * message's words would be, are dropped); events keep only allow-listed fields.
 */
import type { ErrorEvent } from "@sentry/deno";

const PATTERNS: [RegExp, string][] = [
  [/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, "[email]"],
  // JWTs, Telegram bot tokens, API keys, bearer credentials.
  [/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, "[token]"],
  [/\b\d{6,12}:[A-Za-z0-9_-]{30,}\b/g, "[token]"],
  [/\b(sk|pk|rk|whsec|xox[abp])[-_][A-Za-z0-9_-]{10,}\b/g, "[token]"],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, "$1 [token]"],
  [/([?&](token|key|secret|password|access_token|sig)=)[^&\s]+/gi, "$1[redacted]"],
  [/(postgres(ql)?|nats|redis|amqp|https?):\/\/[^:@/\s]+:[^@/\s]+@/gi, "$1://[credentials]@"],
  // Long opaque strings (secrets, hashes); uuids stay, they are pseudonymous ids.
  [/\b[A-Za-z0-9+_]{40,}={0,2}/g, "[secret]"],
  [/\+\d[\d ().-]{7,}\d/g, "[phone]"],
  [/\b\d{9,15}\b/g, "[number]"],
  // Quoted passages: where an error message would repeat what someone wrote.
  [/"[^"\n]{12,}"|“[^”\n]{12,}”|'[^'\n]{24,}'/g, '"[text]"'],
];

/** `text` with personal data and secrets replaced, at most `max` characters. */
export function scrubText(text: string, max = 500): string {
  let out = text;
  for (const [re, to] of PATTERNS) out = out.replace(re, to);
  return out.length > max ? `${out.slice(0, max)}…` : out;
}

/** Tags an event may carry (pseudonymous ids and what ran). */
export const ALLOWED_TAGS = new Set([
  "actor_type",
  "actor",
  "creator_id",
  "handler",
  "node",
  "component",
  "trace_id",
  "kind",
  "terminal",
]);

/** Sentry's `beforeSend`: the event as it may leave the node. */
export function scrubEvent(event: ErrorEvent): ErrorEvent {
  delete event.user;
  delete event.request;
  delete event.breadcrumbs;
  delete event.extra;
  if (event.message) event.message = scrubText(event.message);
  if (event.logentry?.message) event.logentry = { message: scrubText(event.logentry.message) };
  for (const v of event.exception?.values ?? []) {
    if (v.value) v.value = scrubText(v.value);
    for (const f of v.stacktrace?.frames ?? []) {
      delete f.vars;
      delete f.pre_context;
      delete f.post_context;
      delete f.context_line;
    }
  }
  if (event.tags) {
    event.tags = Object.fromEntries(
      Object.entries(event.tags).filter(([k]) => ALLOWED_TAGS.has(k)).map((
        [k, v],
      ) => [k, typeof v === "string" ? scrubText(v, 200) : v]),
    );
  }
  if (event.contexts) {
    const { trace, runtime, os } = event.contexts;
    event.contexts = {
      ...(trace ? { trace } : {}),
      ...(runtime ? { runtime } : {}),
      ...(os ? { os } : {}),
    };
  }
  return event;
}
