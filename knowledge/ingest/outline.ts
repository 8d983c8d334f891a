/**
 * Headings of a text that has no Markdown ones: plain-text FAQs and PDFs mark their sections with
 * short lines of their own ("Which devices does the app run on?", "Your first week"). Cutting
 * there keeps each answer in one chunk under its question, as Markdown headings do.
 */

export interface HeadingLine {
  /** Offset of the line in the text. */
  index: number;
  /** The line as written, with its line break. */
  line: string;
  level: number;
  title: string;
}

const MAX_TITLE = 70;

/**
 * Markdown headings when the text has any; otherwise lines that stand alone as titles: short,
 * not ending a sentence (a question mark is a title in an FAQ), after a sentence's end or a blank
 * line, and followed by text. An all-capitals line is a level-1 title.
 */
export function headingLines(text: string): HeadingLine[] {
  const markdown = [...text.matchAll(/^(#{1,6})[ \t]+(.+?)[ \t#]*$/gm)].map((m) => ({
    index: m.index,
    line: m[0],
    level: m[1]!.length,
    title: m[2]!.trim(),
  }));
  if (markdown.length) return markdown;
  const out: HeadingLine[] = [];
  const lines = text.split("\n");
  let at = 0;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    const before = i > 0 ? lines[i - 1]!.trim() : "";
    const after = lines.slice(i + 1).find((l) => l.trim())?.trim() ?? "";
    const standsAlone = !before || /[.!?:]["”)]?$/.test(before);
    const title = line.length >= 3 && line.length <= MAX_TITLE && /^[\p{Lu}\d]/u.test(line) &&
      !/[.,;:]$/.test(line) && /[\p{L}]/u.test(line) && standsAlone && after.length > 0 &&
      after.length > line.length * 0.6 && !/^[-*•]|^\d+[.)]\s/.test(line);
    if (title) {
      const upper = line === line.toUpperCase() && /\p{Lu}{3}/u.test(line);
      out.push({ index: at, line: raw, level: upper ? 1 : 2, title: line });
    }
    at += raw.length + 1;
  });
  return out;
}
