/**
 * Text shaping shared by the channel senders: splitting a long answer into messages a provider
 * accepts, and escaping for Telegram's HTML parse mode.
 */

/**
 * Splits `text` into parts of at most `limit` characters, cutting at the last paragraph break
 * that fits, else the last sentence end, else the last space, else hard at the limit. Parts are
 * trimmed; empty input gives no parts.
 */
export function splitMessage(text: string, limit: number): string[] {
  if (limit < 1) throw new RangeError(`limit must be at least 1, got ${limit}`);
  const parts: string[] = [];
  let rest = text.trim();
  while (rest.length > limit) {
    const window = rest.slice(0, limit + 1);
    const cut = lastBreak(window, /\n\s*\n/g) ?? lastBreak(window, /[.!?…](?=\s)/g, 1) ??
      lastBreak(window, /\s/g) ?? limit;
    const head = rest.slice(0, Math.min(cut, limit)).trim();
    if (head) parts.push(head);
    rest = rest.slice(Math.min(cut, limit)).trim();
  }
  if (rest) parts.push(rest);
  return parts;
}

/** Index just after the last match of `pattern` within `window` (offset added), if past 0. */
function lastBreak(window: string, pattern: RegExp, offset = 0): number | undefined {
  let at: number | undefined;
  for (const m of window.matchAll(pattern)) {
    const end = m.index + offset;
    if (end > 0 && end <= window.length - 1) at = end;
  }
  return at;
}

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;" };

/** Escapes text for Telegram's `parse_mode: "HTML"` (only `&`, `<` and `>` are special). */
export function escapeTelegramHtml(text: string): string {
  return text.replace(/[&<>]/g, (c) => HTML_ESCAPES[c]!);
}
