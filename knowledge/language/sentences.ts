/** Splits a passage into sentences and list items, keeping their text as written. */
export function sentences(text: string): string[] {
  const out: string[] = [];
  // Paragraphs and list items are blocks; single line breaks inside a paragraph are wrapping.
  const blocks = text.split(/\n\s*\n|\n(?=\s*(?:[-*•]|\d+[.)])\s)/);
  for (const block of blocks) {
    const line = block.replace(/^\s*(?:[-*•]|\d+[.)])\s+/, "").replace(/\s+/g, " ").trim();
    if (!line) continue;
    for (const s of line.split(/(?<=[.!?])\s+(?=[A-Z0-9"“(])/)) {
      if (/[\p{L}\p{N}]/u.test(s)) out.push(s.trim());
    }
  }
  return out;
}
