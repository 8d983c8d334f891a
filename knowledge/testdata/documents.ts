/** Small documents of every supported format, generated in memory for tests. */
import { PDFDocument, StandardFonts } from "pdf-lib";
import { Document, HeadingLevel, Packer, Paragraph } from "docx";

/** A PDF with one page per entry; each entry's lines are drawn top to bottom. */
export async function makePdf(pages: string[][]): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  for (const lines of pages) {
    const page = pdf.addPage([595, 842]);
    lines.forEach((line, i) => page.drawText(line, { x: 50, y: 780 - i * 18, size: 11, font }));
  }
  return await pdf.save();
}

/** A DOCX with Word heading styles and paragraphs: `# ` lines become Heading 1, `## ` Heading 2. */
export async function makeDocx(lines: string[]): Promise<Uint8Array> {
  const children = lines.map((line) => {
    if (line.startsWith("## ")) {
      return new Paragraph({ text: line.slice(3), heading: HeadingLevel.HEADING_2 });
    }
    if (line.startsWith("# ")) {
      return new Paragraph({ text: line.slice(2), heading: HeadingLevel.HEADING_1 });
    }
    return new Paragraph(line);
  });
  const doc = new Document({ sections: [{ children }] });
  return new Uint8Array(await Packer.toArrayBuffer(doc));
}

export const HTML_PAGE = `<!doctype html><html><head><title>Hydration</title>
<style>body { color: red }</style><script>console.log("tracking")</script></head>
<body><nav><a href="/">Home</a> | <a href="/shop">Shop</a></nav>
<main><h1>Hydration guide</h1><p>Drink a large glass of water when you wake up.</p>
<h2>During exercise</h2><ul><li>Sip every 15 minutes.</li><li>Add salt on hot days.</li></ul>
</main><footer>© Coach Co — all rights reserved</footer></body></html>`;
