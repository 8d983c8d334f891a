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
 * Page chrome marked by class, id or ARIA role rather than by tag: menus, cookie banners,
 * sidebars, share and newsletter boxes, bylines. Its words would otherwise reach the index and
 * match questions about anything ("subscribe", "shop", "training tips").
 */
const CHROME_NAME =
  /(?:^|[\s_-])(?:nav|navbar|navigation|menu|menus|site-header|topbar|footer|cookies?|cookie-banner|consent|banner|sidebar|share|sharing|social|newsletter|subscribe|signup|breadcrumbs?|related|popular|comments?|advert|ads|promo|byline|meta|post-meta)(?:$|[\s_-])/i;
const CHROME_ROLE = new Set(["navigation", "banner", "contentinfo", "complementary", "search"]);

function isChrome(el: HTMLElement): boolean {
  const role = el.getAttribute("role")?.toLowerCase();
  if (role && CHROME_ROLE.has(role)) return true;
  const names = `${el.getAttribute("class") ?? ""} ${el.getAttribute("id") ?? ""}`;
  return CHROME_NAME.test(names) && !el.querySelector("h1");
}

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
  if (isChrome(el)) return;
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
