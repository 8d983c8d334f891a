/** Splits a passage into sentences and list items, keeping their text as written. */
export function sentences(text: string): string[] {
  const out: string[] = [];
  for (const block of text.split(/\n+/)) {
    const line = block.replace(/^\s*(?:[-*•]|\d+[.)])\s+/, "").trim();
    if (!line) continue;
    for (const s of line.split(/(?<=[.!?])\s+(?=[A-Z0-9"“(])/)) {
      if (/[\p{L}\p{N}]/u.test(s)) out.push(s.trim());
    }
  }
  return out;
}
