import assert from "node:assert/strict";
import { testApi } from "../tests/api_harness.ts";

const EXPECTED_TYPE: Record<string, RegExp> = {
  ".js": /^text\/javascript; charset=utf-8$/,
  ".css": /^text\/css; charset=utf-8$/,
  ".png": /^image\/png$/,
};

Deno.test("GET /v1/docs - the reference page loads only scripts, styles and icons the API serves", async () => {
  await using t = await testApi();
  const res = await t.root.request("/v1/docs");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
  const html = await res.text();
  assert.doesNotMatch(html, /\b(https?:)?\/\/[a-z0-9]/i, "no absolute or protocol-relative URL");

  const urls = [
    ...html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/g),
    ...html.matchAll(/<link\b[^>]*\bhref="([^"]+)"/g),
  ].map((m) => m[1]!.replaceAll("&amp;", "&"));
  assert.equal(urls.length, 4, `script and link URLs: ${urls.join(", ")}`);
  for (const url of urls) {
    const { pathname } = new URL(url, "http://api.test");
    assert.match(pathname, /^\/v1\/docs\/assets\/[\w.-]+$/);
    const asset = await t.root.request(url);
    assert.equal(asset.status, 200, url);
    const ext = pathname.slice(pathname.lastIndexOf("."));
    assert.match(asset.headers.get("content-type") ?? "", EXPECTED_TYPE[ext]!, url);
    assert.ok((await asset.bytes()).length > 0, `${url} is empty`);
  }

  // The page's container names the spec, which the same app serves.
  const spec = html.match(/data-url="([^"]+)"/)?.[1];
  assert.equal(spec, "/v1/openapi.json");
  const doc = await t.root.request(spec!);
  assert.equal(doc.status, 200);
  assert.equal((await doc.json()).openapi, "3.1.0");
});
