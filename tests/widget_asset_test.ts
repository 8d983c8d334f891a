/**
 * The committed widget bundle is what its source builds to today, stays small, and is served with
 * long-lived caching under its content hash.
 */
import assert from "node:assert/strict";
import { buildWidget, OUTPUT } from "../channels/widget/build_ui.ts";
import { loadWidgetAsset } from "../channels/widget/asset.ts";
import { widgetRoutes } from "../api/routes/widget.ts";
import { jsonLogger } from "../runtime/mod.ts";
import type { Widgets } from "../channels/widget/widgets.ts";

Deno.test("widget bundle - the committed build is fresh (deno task build:widget) and under 30 KB gzipped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "widget-build-" });
  try {
    const out = new URL(`file://${dir}/widget.js`);
    await buildWidget(out);
    const built = await Deno.readFile(out);
    const committed = await Deno.readFile(OUTPUT);
    assert.ok(
      built.length === committed.length && built.every((b, i) => b === committed[i]),
      "channels/widget/ui/dist/widget.js is stale: run `deno task build:widget`",
    );
    const asset = await loadWidgetAsset();
    assert.ok(asset.gzipBytes < 30 * 1024, `gzipped ${asset.gzipBytes} bytes`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("GET /widget.js - revalidated by ETag; /widget.<hash>.js is immutable; old hashes 404", async () => {
  const asset = await loadWidgetAsset();
  const app = widgetRoutes({
    pool: undefined as never,
    widgets: { byKey: () => Promise.resolve(null) } as unknown as Widgets,
    asset,
    socket: {} as never,
    limits: { messagesPerVisitor: 1, messagesPerKey: 1, sessionsPerIp: 1, windowMs: 1000 },
    log: jsonLogger("error"),
  });
  const first = await app.request("/widget.js");
  assert.equal(first.status, 200);
  assert.equal(first.headers.get("etag"), `"${asset.hash}"`);
  assert.match(first.headers.get("cache-control")!, /max-age=300/);
  assert.equal(first.headers.get("content-type"), "text/javascript; charset=utf-8");
  assert.equal(first.headers.get("cross-origin-resource-policy"), "cross-origin");
  assert.equal((await first.arrayBuffer()).byteLength, asset.body.length);
  const again = await app.request("/widget.js", {
    headers: { "if-none-match": `"${asset.hash}"` },
  });
  assert.equal(again.status, 304);
  const pinned = await app.request(`/widget.${asset.hash}.js`);
  assert.equal(pinned.status, 200);
  assert.equal(pinned.headers.get("cache-control"), "public, max-age=31536000, immutable");
  await pinned.body?.cancel();
  const old = await app.request("/widget.0123456789abcdef.js");
  assert.equal(old.status, 404);
  await old.body?.cancel();
  // A script URL naming an unknown key is refused.
  const unknown = await app.request("/widget.js?key=wk_nope000000000");
  assert.equal(unknown.status, 404);
  assert.equal((await unknown.json()).errors[0].field, "query.key");
});
