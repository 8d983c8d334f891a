import assert from "node:assert/strict";
import {
  EntityParseError,
  parseHtml,
  parseMarkdownLegacy,
  parseMarkdownV2,
} from "./_telegram_text.ts";

function parseError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof EntityParseError);
    return err.detail;
  }
  assert.fail("expected a parse error");
}

Deno.test("parseHtml() nests entities, decodes entities, and gives pre its language", () => {
  const r = parseHtml(
    '<b>Bold <i>both</i></b> &amp; &#x1F600; <pre><code class="language-ts">let x = 1;</code></pre><tg-spoiler>s</tg-spoiler>',
  );
  assert.equal(r.text, "Bold both & 😀 let x = 1;s");
  assert.deepEqual(r.entities, [
    { type: "bold", offset: 0, length: 9 },
    { type: "italic", offset: 5, length: 4 },
    { type: "pre", offset: 15, length: 10, language: "ts" },
    { type: "spoiler", offset: 25, length: 1 },
  ]);
});

Deno.test("parseHtml() rejects what Telegram rejects, with byte offsets", () => {
  assert.equal(
    parseError(() => parseHtml("é<br/>")),
    'Unsupported start tag "br/" at byte offset 2',
  );
  assert.equal(
    parseError(() => parseHtml("<b>x</i>")),
    'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"',
  );
  assert.equal(parseError(() => parseHtml("x</b>")), "Unexpected end tag at byte offset 1");
  assert.equal(
    parseError(() => parseHtml("<b>open")),
    'Can\'t find end tag corresponding to start tag "b"',
  );
  assert.equal(
    parseError(() => parseHtml('<span class="x">s</span>')),
    'Tag "span" must have class "tg-spoiler" at byte offset 0',
  );
});

Deno.test("parseMarkdownV2() reads markup and escapes, and requires reserved characters escaped", () => {
  const r = parseMarkdownV2(
    "*Hi* _there_ __u__ ~s~ ||sp|| `c\\`` [site](https://e.com/a\\)b) 1\\.5\\!",
  );
  assert.equal(r.text, "Hi there u s sp c` site 1.5!");
  assert.deepEqual(r.entities.map((e) => [e.type, e.offset, e.length]), [
    ["bold", 0, 2],
    ["italic", 3, 5],
    ["underline", 9, 1],
    ["strikethrough", 11, 1],
    ["spoiler", 13, 2],
    ["code", 16, 2],
    ["text_link", 19, 4],
  ]);
  assert.equal(r.entities.find((e) => e.type === "text_link")?.url, "https://e.com/a)b");
  assert.equal(
    parseError(() => parseMarkdownV2("Costs 5-10 EUR")),
    "Character '-' is reserved and must be escaped with the preceding '\\'",
  );
  assert.equal(
    parseError(() => parseMarkdownV2("x *bold")),
    "Can't find end of Bold entity at byte offset 2",
  );
});

Deno.test("parseMarkdownLegacy() needs closed entities only", () => {
  assert.deepEqual(parseMarkdownLegacy("*a* _b_ [l](https://x.y) 1.5-2!"), {
    text: "a b l 1.5-2!",
    entities: [
      { type: "bold", offset: 0, length: 1 },
      { type: "italic", offset: 2, length: 1 },
      { type: "text_link", offset: 4, length: 1, url: "https://x.y" },
    ],
  });
  assert.equal(
    parseError(() => parseMarkdownLegacy("snake_case")),
    "Can't find end of the entity starting at byte offset 5",
  );
});
