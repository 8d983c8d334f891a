/**
 * The built-in analytics page in real Chromium (Debian's `chromium`, driven by playwright-core):
 * signed in with the creator's token, it draws the charts from generated activity with nothing
 * loaded from outside the node; the screenshot is kept in docs/images/analytics.png.
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { testApi } from "./api_harness.ts";
import { generateActivity, insertDeliveries, insertEndUsers } from "./analytics_activity.ts";
import { jsonLogger } from "../runtime/mod.ts";
import { Analytics } from "../analytics/mod.ts";

const CHROMIUM = "/usr/bin/chromium";
const secretsKey = crypto.getRandomValues(new Uint8Array(32));

Deno.test("analytics page - draws the creator's charts in Chromium from local files only", async () => {
  await using t = await testApi({ secretsKey });
  const analytics = new Analytics({ pool: t.db.pool, secretsKey });
  const a = await t.signup();
  const pub = { nc: t.nats.nc, prefix: t.nats.prefix };
  const people = await insertEndUsers(t.db.pool, a.creatorId, 6);
  await generateActivity(pub, a.creatorId, people, [crypto.randomUUID(), crypto.randomUUID()]);
  await insertDeliveries(t.db.pool, a.creatorId, people);
  await using projection = analytics.project({ ...pub, log: jsonLogger("error") });
  await projection.caughtUp();
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, t.root.fetch);
  const origin = `http://127.0.0.1:${server.addr.port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const outside: string[] = [];
    const problems: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(origin)) outside.push(r.url());
    });
    page.on("pageerror", (e) => problems.push(String(e)));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(m.text());
    });
    await page.goto(
      `${origin}/v1/dashboard?from=2026-11-01&to=2026-11-15&tz=UTC#token=${a.token}`,
    );
    await page.waitForSelector("body[data-loaded=true]", { timeout: 20_000 });
    // Engagement, answer quality and nudges are uPlot charts.
    assert.equal(await page.locator("canvas").count(), 3);
    assert.match(await page.locator("#retention").innerText(), /100%/);
    assert.match(await page.locator("#unanswered").innerText(), /splint/);
    assert.match(await page.locator("#deliveries").innerText(), /window_closed|failed/);
    assert.equal(await page.locator("#error").innerText(), "");
    // The token left the address bar for the tab's session storage.
    assert.ok(!page.url().includes("token"));
    assert.deepEqual(outside, []);
    assert.deepEqual(problems, []);
    await page.screenshot({
      path: new URL("../docs/images/analytics.png", import.meta.url).pathname,
      fullPage: true,
    });
  } finally {
    await browser.close();
    await server.shutdown();
  }
});
