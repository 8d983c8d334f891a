/**
 * The widget's script as the node serves it: the committed bundle (channels/widget/ui/dist,
 * rebuilt by `deno task build:widget`, checked fresh by tests/widget_asset_test.ts), its content
 * hash for the immutable `/widget.<hash>.js` and its gzipped size.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";

export const WIDGET_BUNDLE = new URL("./ui/dist/widget.js", import.meta.url);

export interface WidgetAsset {
  body: Uint8Array;
  /** First 16 hex digits of the SHA-256 of the body. */
  hash: string;
  etag: string;
  gzipBytes: number;
}

export async function loadWidgetAsset(url: URL = WIDGET_BUNDLE): Promise<WidgetAsset> {
  const body = await Deno.readFile(url);
  const hash = createHash("sha256").update(body).digest("hex").slice(0, 16);
  return { body, hash, etag: `"${hash}"`, gzipBytes: gzipSync(body, { level: 9 }).length };
}
