import assert from "node:assert/strict";
import { ExtractionError, extractText, formatOf } from "./extract.ts";
import { chunkText } from "./chunk.ts";
import { HTML_PAGE, makeDocx, makePdf } from "../../tests/fixtures/documents.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("formatOf() uses the MIME type, then the file extension", () => {
  assert.equal(formatOf("application/pdf"), "pdf");
  assert.equal(formatOf("application/octet-stream", "notes.DOCX"), "docx");
  assert.equal(formatOf("text/markdown; charset=utf-8"), "markdown");
  assert.equal(formatOf("text/plain", "a.md"), "markdown");
  assert.equal(formatOf("text/html"), "html");
  assert.equal(formatOf("text/plain"), "text");
  assert.equal(formatOf("image/png", "x.png"), undefined);
});

Deno.test("extractText() reads HTML as readable text: headings kept, page chrome dropped", async () => {
  const { text } = await extractText(enc(HTML_PAGE), { mimeType: "text/html" });
  assert.match(text, /^# Hydration guide$/m);
  assert.match(text, /^## During exercise$/m);
  assert.match(text, /Drink a large glass of water/);
  assert.match(text, /- Sip every 15 minutes\./);
  for (const chrome of ["tracking", "Shop", "all rights reserved", "color: red"]) {
    assert.ok(!text.includes(chrome), `"${chrome}" should not be in the text`);
  }
});

Deno.test("extractText() reads a PDF page by page and records where each page starts", async () => {
  const pdf = await makePdf([["Sleep basics", "Keep naps short."], [
    "Caffeine",
    "Stop coffee by 2 pm.",
  ]]);
  const out = await extractText(pdf, { mimeType: "application/pdf" });
  assert.equal(out.pageStarts?.length, 2);
  assert.match(out.text, /Keep naps short/);
  assert.ok(out.text.indexOf("Stop coffee") >= out.pageStarts![1]!);
  const chunks = await chunkText(out, { chunkSize: 40, chunkOverlap: 0 });
  assert.equal(chunks.find((c) => c.text.includes("naps"))?.page, 1);
  assert.equal(chunks.find((c) => c.text.includes("coffee"))?.page, 2);
});

Deno.test("extractText() reads a DOCX with Word headings as Markdown headings", async () => {
  const docx = await makeDocx([
    "# Habits",
    "Start tiny.",
    "## Stacking",
    "After coffee, plan the day.",
  ]);
  const out = await extractText(docx, {
    mimeType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  });
  assert.match(out.text, /^# Habits$/m);
  assert.match(out.text, /^## Stacking$/m);
  const chunks = await chunkText(out);
  assert.equal(chunks.find((c) => c.text.includes("After coffee"))?.heading, "Habits > Stacking");
});

Deno.test("extractText() rejects corrupt, empty, textless and unsupported files with a reason", async () => {
  const cases: [Uint8Array, string, RegExp][] = [
    [enc("%PDF-1.7 this is not really a pdf"), "application/pdf", /The PDF cannot be read/],
    [new Uint8Array(), "text/plain", /The file is empty/],
    [enc("   \n\n  "), "text/markdown", /The document has no text/],
    [
      enc("PK\u0003\u0004garbage"),
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
      /The DOCX cannot be read/,
    ],
    [new Uint8Array([0xff, 0xfe, 0x00, 0xd8]), "text/plain", /not valid UTF-8/],
    [enc("GIF89a"), "image/gif", /Unsupported file type image\/gif/],
  ];
  for (const [bytes, mimeType, reason] of cases) {
    await assert.rejects(() => extractText(bytes, { mimeType }), (err: unknown) => {
      assert.ok(err instanceof ExtractionError, `${mimeType}: ${err}`);
      assert.match(err.message, reason);
      return true;
    });
  }
  const blank = await makePdf([[]]);
  await assert.rejects(
    () => extractText(blank, { mimeType: "application/pdf" }),
    /no extractable text/,
  );
});

Deno.test("chunkText() keeps the heading path and exact source offsets", async () => {
  const text = "# Sleep\nIntro line.\n\n## Naps\nKeep naps short.\n\n## Caffeine\nStop by 2 pm.\n";
  const chunks = await chunkText({ text });
  assert.deepEqual(chunks.map((c) => c.heading), ["Sleep", "Sleep > Naps", "Sleep > Caffeine"]);
  for (const c of chunks) assert.equal(text.slice(c.start, c.end), c.text);
  assert.deepEqual(chunks.map((c) => c.ordinal), [0, 1, 2]);
});
