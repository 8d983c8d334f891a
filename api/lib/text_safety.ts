/**
 * Text Postgres cannot store: a NUL character (text and jsonb refuse `\u0000`) or half of a UTF-16
 * surrogate pair (jsonb refuses a lone `\ud800`). The shared request validation (`createApi`'s
 * hook) rejects them in every validated part of every request, so no route has to.
 * @module
 */
import type { FieldError } from "../errors.ts";

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function problemOf(text: string): string | undefined {
  if (text.includes("\u0000")) return "must not contain a NUL character (\\u0000)";
  if (LONE_SURROGATE.test(text)) return "must be valid Unicode (a lone surrogate was found)";
  return undefined;
}

/** A key fit to name in a field path: the characters that cannot be stored become `?`. */
const printable = (key: string) =>
  [...key].map((ch) => ch === "\u0000" || /^[\ud800-\udfff]$/.test(ch) ? "?" : ch).join("");

/**
 * The first string in `value` (keys, nested values and file names included) that Postgres cannot
 * store, as a field error named from `where` (`body.metadata.title`).
 */
export function unstorableText(value: unknown, where: string): FieldError | undefined {
  if (typeof value === "string") {
    const message = problemOf(value);
    return message ? { field: where, message } : undefined;
  }
  if (value instanceof File) {
    const message = problemOf(value.name);
    return message ? { field: `${where}.name`, message } : undefined;
  }
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = unstorableText(item, `${where}.${i}`);
      if (found) return found;
    }
    return undefined;
  }
  if (value && typeof value === "object" && !(value instanceof Date)) {
    for (const [key, item] of Object.entries(value)) {
      const keyMessage = problemOf(key);
      if (keyMessage) {
        return {
          field: `${where}.${printable(key)}`,
          message: keyMessage,
        };
      }
      const found = unstorableText(item, `${where}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}
