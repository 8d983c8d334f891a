import { type HTMLElement, type Node, NodeType, parse } from "node-html-parser";

const SKIP = new Set([
  "script",
  "style",
  "noscript",
  "template",
  "nav",
  "footer",
  "header",
  "aside",
  "form",
  "svg",
  "iframe",
  "button",
  "head",
]);
const BLOCK = new Set([
  "p",
  "div",
  "section",
  "article",
  "main",
  "li",
  "ul",
  "ol",
  "table",
  "tr",
  "blockquote",
  "pre",
  "dl",
  "dt",
  "dd",
  "figure",
  "figcaption",
  "br",
  "hr",
]);

/**
 * The readable text of an HTML page: headings become `#` lines, blocks become paragraphs, and
 * navigation, scripts, styles and other page chrome are dropped.
 */
export function htmlToText(html: string): string {
  const root = parse(html, { comment: false, blockTextElements: { pre: true } });
  const body = root.querySelector("main") ?? root.querySelector("article") ??
    root.querySelector("body") ?? root;
  const parts: string[] = [];
  walk(body, parts);
  return parts.join("").replace(/[ \t]+\n/g, "\n").replace(/\n{3,}/g, "\n\n").trim() + "\n";
}

function walk(node: Node, out: string[]) {
  if (node.nodeType === NodeType.TEXT_NODE) {
    out.push(node.text.replace(/\s+/g, " "));
    return;
  }
  if (node.nodeType !== NodeType.ELEMENT_NODE) return;
  const el = node as HTMLElement;
  const tag = el.tagName?.toLowerCase() ?? "";
  // A page header is chrome unless it carries the page's title.
  if (SKIP.has(tag) && !(tag === "header" && el.querySelector("h1"))) return;
  const heading = tag.match(/^h([1-6])$/);
  if (heading) {
    out.push(`\n\n${"#".repeat(Number(heading[1]))} ${el.text.replace(/\s+/g, " ").trim()}\n\n`);
    return;
  }
  if (tag === "li") out.push("\n- ");
  else if (BLOCK.has(tag)) out.push("\n\n");
  for (const child of el.childNodes) walk(child, out);
  if (BLOCK.has(tag)) out.push("\n\n");
}
