/**
 * Telegram's formatting modes as the Bot API parses them: `parse_mode` HTML, MarkdownV2 and
 * (legacy) Markdown turn into plain text plus entities with UTF-16 offsets, or fail with the
 * API's "can't parse entities" descriptions. Strict on the mistakes that break real deliveries
 * (an unescaped `<` or `.`, an unknown tag, an unclosed entity); lenient on rarer details.
 */
import type { MessageEntity } from "grammy/types";

/** The text a user sees and its entities. */
export interface ParsedText {
  text: string;
  entities: MessageEntity[];
}

/** A parse failure; `description` is what the API puts after "Bad Request: ". */
export class EntityParseError extends Error {
  constructor(readonly detail: string) {
    super(`can't parse entities: ${detail}`);
    this.name = "EntityParseError";
  }
}

const utf8 = new TextEncoder();
const byteOffset = (source: string, index: number) => utf8.encode(source.slice(0, index)).length;

/** Parses `text` under `mode`, or returns it unchanged with `entities` when no mode is given. */
export function parseFormatted(
  text: string,
  mode: string | undefined,
  entities: MessageEntity[] = [],
): ParsedText {
  if (mode === undefined || mode === "") return { text, entities };
  switch (mode.toLowerCase()) {
    case "html":
      return parseHtml(text);
    case "markdownv2":
      return parseMarkdownV2(text);
    case "markdown":
      return parseMarkdownLegacy(text);
    default:
      throw new UnsupportedParseMode(mode);
  }
}

export class UnsupportedParseMode extends Error {
  constructor(readonly mode: string) {
    super(`unsupported parse_mode ${mode}`);
    this.name = "UnsupportedParseMode";
  }
}

// --- HTML -------------------------------------------------------------------------------------

const HTML_TAGS: Record<string, MessageEntity["type"]> = {
  b: "bold",
  strong: "bold",
  i: "italic",
  em: "italic",
  u: "underline",
  ins: "underline",
  s: "strikethrough",
  strike: "strikethrough",
  del: "strikethrough",
  "tg-spoiler": "spoiler",
  span: "spoiler",
  a: "text_link",
  code: "code",
  pre: "pre",
  blockquote: "blockquote",
  "tg-emoji": "custom_emoji",
};

const NAMED_ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"' };

interface OpenTag {
  name: string;
  start: number; // offset in the output, UTF-16
  attrs: Record<string, string>;
}

export function parseHtml(source: string): ParsedText {
  let out = "";
  const entities: MessageEntity[] = [];
  const open: OpenTag[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === "&") {
      const m = /^&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/i.exec(source.slice(i, i + 12));
      const name = m?.[1];
      if (name !== undefined) {
        const code = name.startsWith("#x") || name.startsWith("#X")
          ? parseInt(name.slice(2), 16)
          : name.startsWith("#")
          ? parseInt(name.slice(1), 10)
          : undefined;
        const decoded = code === undefined
          ? NAMED_ENTITIES[name.toLowerCase()]
          : code <= 0x10ffff
          ? String.fromCodePoint(code)
          : undefined;
        if (decoded !== undefined) {
          out += decoded;
          i += m![0].length;
          continue;
        }
      }
      out += ch;
      i++;
      continue;
    }
    if (ch !== "<") {
      out += ch;
      i++;
      continue;
    }
    const at = byteOffset(source, i);
    if (source[i + 1] === "/") {
      const end = source.indexOf(">", i);
      if (end < 0) throw new EntityParseError(`Unclosed end tag at byte offset ${at}`);
      const name = source.slice(i + 2, end).trim().toLowerCase();
      i = end + 1;
      const top = open.pop();
      if (top === undefined) throw new EntityParseError(`Unexpected end tag at byte offset ${at}`);
      if (top.name !== name) {
        throw new EntityParseError(
          `Unmatched end tag at byte offset ${at}, expected "</${top.name}>", found "</${name}>"`,
        );
      }
      closeHtmlTag(top, open.at(-1), out.length, entities);
      continue;
    }
    // Like Telegram, the tag name runs to the first space or '>': "a < b" has the empty name.
    let j = i + 1;
    while (j < source.length && !/[\s>]/.test(source[j]!)) j++;
    const name = source.slice(i + 1, j).toLowerCase();
    if (!(name in HTML_TAGS)) {
      throw new EntityParseError(
        `Unsupported start tag "${source.slice(i + 1, j)}" at byte offset ${at}`,
      );
    }
    const end = source.indexOf(">", j);
    if (end < 0) throw new EntityParseError(`Unclosed start tag at byte offset ${at}`);
    const attrText = source.slice(j, end);
    i = end + 1;
    const attrs: Record<string, string> = {};
    for (
      const a of attrText.matchAll(/([a-z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/gi)
    ) {
      // Entities in attribute values are decoded too (`href="...?a=1&amp;b=2"`).
      attrs[a[1]!.toLowerCase()] = decodeAttribute(a[2] ?? a[3] ?? a[4] ?? "");
    }
    if (name === "span" && attrs.class !== "tg-spoiler") {
      throw new EntityParseError(`Tag "span" must have class "tg-spoiler" at byte offset ${at}`);
    }
    if (name === "a" && attrs.href === undefined) {
      // Telegram keeps the text of an <a> without href and drops the link.
      attrs.href = "";
    }
    open.push({ name, start: out.length, attrs });
  }
  const unclosed = open.at(-1);
  if (unclosed) {
    throw new EntityParseError(`Can't find end tag corresponding to start tag "${unclosed.name}"`);
  }
  return { text: out, entities: sortEntities(entities) };
}

function closeHtmlTag(
  tag: OpenTag,
  parent: OpenTag | undefined,
  end: number,
  entities: MessageEntity[],
): void {
  const offset = tag.start;
  const length = end - offset;
  const type = HTML_TAGS[tag.name]!;
  const language = /^language-(.+)$/.exec(tag.attrs.class ?? "")?.[1];
  if (type === "code" && parent?.name === "pre" && language) {
    // <pre><code class="language-x"> is one pre entity with a language, not a code entity.
    parent.attrs.language = language;
    return;
  }
  if (length <= 0) return;
  if (type === "text_link") {
    if (tag.attrs.href) entities.push({ type: "text_link", offset, length, url: tag.attrs.href });
  } else if (type === "pre") {
    const lang = tag.attrs.language;
    entities.push(
      lang ? { type: "pre", offset, length, language: lang } : { type: "pre", offset, length },
    );
  } else if (type === "blockquote" && "expandable" in tag.attrs) {
    entities.push({ type: "expandable_blockquote", offset, length });
  } else if (type === "custom_emoji") {
    entities.push({ type, offset, length, custom_emoji_id: tag.attrs["emoji-id"] ?? "" });
  } else {
    entities.push({ type, offset, length } as MessageEntity);
  }
}

function sortEntities(entities: MessageEntity[]): MessageEntity[] {
  return entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
}

// --- MarkdownV2 -------------------------------------------------------------------------------

const RESERVED_V2 = new Set("_*[]()~`>#+-=|{}.!".split(""));

interface OpenMark {
  type: MessageEntity["type"];
  token: string;
  start: number;
  at: number; // byte offset of the opening token in the source
}

const V2_NAMES: Partial<Record<MessageEntity["type"], string>> = {
  bold: "Bold",
  italic: "Italic",
  underline: "Underline",
  strikethrough: "Strikethrough",
  spoiler: "Spoiler",
  text_link: "TextUrl",
};

export function parseMarkdownV2(source: string): ParsedText {
  let out = "";
  const entities: MessageEntity[] = [];
  const open: OpenMark[] = [];
  let quoteStart: number | undefined;
  let i = 0;
  const reserved = (c: string): never => {
    throw new EntityParseError(
      `Character '${c}' is reserved and must be escaped with the preceding '\\'`,
    );
  };
  const toggle = (type: MessageEntity["type"], token: string) => {
    const top = open.at(-1);
    if (top && top.type === type && top.token === token) {
      open.pop();
      if (out.length > top.start) {
        entities.push({ type, offset: top.start, length: out.length - top.start } as MessageEntity);
      }
    } else {
      open.push({ type, token, start: out.length, at: byteOffset(source, i) });
    }
    i += token.length;
  };
  while (i < source.length) {
    const ch = source[i]!;
    const lineStart = i === 0 || source[i - 1] === "\n";
    if (ch === "\\") {
      const next = source[i + 1];
      if (next === undefined) reserved("\\");
      out += next;
      i += 2;
      continue;
    }
    if (ch === "\n" && quoteStart !== undefined && source[i + 1] !== ">") {
      entities.push({ type: "blockquote", offset: quoteStart, length: out.length - quoteStart });
      quoteStart = undefined;
    }
    if (ch === ">" && lineStart) {
      quoteStart ??= out.length;
      i++;
      continue;
    }
    if (ch === "`") {
      const fence = source.startsWith("```", i);
      const token = fence ? "```" : "`";
      const at = byteOffset(source, i);
      let j = i + token.length;
      let language: string | undefined;
      if (fence) {
        const nl = source.indexOf("\n", j);
        const first = nl < 0 ? "" : source.slice(j, nl);
        if (nl >= 0 && /^[\w+-]*$/.test(first)) {
          language = first || undefined;
          j = nl + 1;
        }
      }
      let body = "";
      while (j < source.length && !source.startsWith(token, j)) {
        if (source[j] === "\\" && j + 1 < source.length) {
          body += source[j + 1];
          j += 2;
        } else {
          body += source[j];
          j++;
        }
      }
      if (j >= source.length) {
        throw new EntityParseError(
          `Can't find end of ${fence ? "Pre" : "Code"} entity at byte offset ${at}`,
        );
      }
      const start = out.length;
      out += body;
      if (body.length > 0) {
        entities.push(
          fence
            ? (language
              ? { type: "pre", offset: start, length: body.length, language }
              : { type: "pre", offset: start, length: body.length })
            : { type: "code", offset: start, length: body.length },
        );
      }
      i = j + token.length;
      continue;
    }
    if (ch === "*") {
      toggle("bold", "*");
      continue;
    }
    if (ch === "_") {
      if (source[i + 1] === "_") toggle("underline", "__");
      else toggle("italic", "_");
      continue;
    }
    if (ch === "~") {
      toggle("strikethrough", "~");
      continue;
    }
    if (ch === "|") {
      if (source[i + 1] !== "|") reserved("|");
      toggle("spoiler", "||");
      continue;
    }
    if (ch === "[" || (ch === "!" && source[i + 1] === "[")) {
      const token = ch === "[" ? "[" : "![";
      open.push({
        type: ch === "[" ? "text_link" : "custom_emoji",
        token,
        start: out.length,
        at: byteOffset(source, i),
      });
      i += token.length;
      continue;
    }
    if (ch === "]") {
      const top = open.at(-1);
      if (!top || (top.type !== "text_link" && top.type !== "custom_emoji")) reserved("]");
      if (source[i + 1] !== "(") reserved("]");
      let j = i + 2;
      let url = "";
      while (j < source.length && source[j] !== ")") {
        if (source[j] === "\\" && j + 1 < source.length) {
          url += source[j + 1];
          j += 2;
        } else {
          url += source[j];
          j++;
        }
      }
      if (j >= source.length) {
        throw new EntityParseError(
          `Can't find end of a url at byte offset ${byteOffset(source, i + 1)}`,
        );
      }
      open.pop();
      const length = out.length - top!.start;
      if (length > 0) {
        entities.push(
          top!.type === "text_link" ? { type: "text_link", offset: top!.start, length, url } : {
            type: "custom_emoji",
            offset: top!.start,
            length,
            custom_emoji_id: /id=(\d+)/.exec(url)?.[1] ?? "",
          },
        );
      }
      i = j + 1;
      continue;
    }
    if (RESERVED_V2.has(ch)) reserved(ch);
    out += ch;
    i++;
  }
  if (quoteStart !== undefined) {
    entities.push({ type: "blockquote", offset: quoteStart, length: out.length - quoteStart });
  }
  const unclosed = open.at(-1);
  if (unclosed) {
    throw new EntityParseError(
      `Can't find end of ${
        V2_NAMES[unclosed.type] ?? "CustomEmoji"
      } entity at byte offset ${unclosed.at}`,
    );
  }
  return { text: out, entities: sortEntities(entities) };
}

// --- Markdown (legacy) ------------------------------------------------------------------------

export function parseMarkdownLegacy(source: string): ParsedText {
  let out = "";
  const entities: MessageEntity[] = [];
  let i = 0;
  const marks: Record<string, MessageEntity["type"]> = { "*": "bold", "_": "italic" };
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === "\\" && i + 1 < source.length && "*_`[".includes(source[i + 1]!)) {
      out += source[i + 1];
      i += 2;
      continue;
    }
    const token = ch === "`" && source.startsWith("```", i) ? "```" : ch;
    if (token === "*" || token === "_" || token === "`" || token === "```") {
      const close = source.indexOf(token, i + token.length);
      if (close < 0) {
        throw new EntityParseError(
          `Can't find end of the entity starting at byte offset ${byteOffset(source, i)}`,
        );
      }
      const body = source.slice(i + token.length, close);
      const start = out.length;
      out += body;
      const type = token === "```" ? "pre" : token === "`" ? "code" : marks[token]!;
      if (body.length > 0) {
        entities.push({ type, offset: start, length: body.length } as MessageEntity);
      }
      i = close + token.length;
      continue;
    }
    if (ch === "[") {
      const m = /^\[([^\]]*)\]\(([^)]*)\)/.exec(source.slice(i));
      if (m) {
        const start = out.length;
        out += m[1];
        if (m[1]!.length > 0) {
          entities.push({ type: "text_link", offset: start, length: m[1]!.length, url: m[2]! });
        }
        i += m[0].length;
        continue;
      }
    }
    out += ch;
    i++;
  }
  return { text: out, entities: sortEntities(entities) };
}

/** Decodes the named and numeric entities Telegram's HTML mode knows in an attribute value. */
function decodeAttribute(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === "#") {
      const code = name[1] === "x" || name[1] === "X"
        ? parseInt(name.slice(2), 16)
        : parseInt(name.slice(1), 10);
      return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED_ENTITIES[name.toLowerCase()] ?? whole;
  });
}
