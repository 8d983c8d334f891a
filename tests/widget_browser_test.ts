/**
 * The widget in a real browser (Debian's Chromium, headless, driven by playwright-core): a page on
 * another origin embeds the one-line script; the visitor opens the panel, asks, watches the answer
 * stream in with its source, reloads and finds the conversation again. A page on an origin the
 * widget does not allow gets nothing. Keeps a screenshot of the open widget in docs/images.
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { eventually, freePort } from "./harness.ts";
import { widgetCluster } from "./widget_env.ts";

const GUIDE = `# Sleep guide

## Caffeine
Caffeine has a half-life of five to six hours. Stop drinking coffee by 2 pm so it does not keep
you awake at night.

## Naps
Keep naps short: twenty minutes at most, and before 3 pm.
`;

/** A creator's site: a page with some content of its own and the widget's one line. */
function site(node: string, key: string) {
  const port = freePort();
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Sleep better with Ada</title>
<style>body{font:16px Georgia,serif;margin:0;background:#f7f3ea;color:#333}
header{background:#2f4858;color:#fff;padding:24px 40px}main{padding:24px 40px;max-width:640px}
button{all:unset}.m{color:red!important}</style></head><body>
<header><h1>Sleep better with Ada</h1></header>
<main><p>Six weeks to calmer evenings and deeper sleep. Ask the coach anything about the program.</p></main>
<script src="${node}/widget.js" data-key="${key}" async></script>
</body></html>`;
  const server = Deno.serve(
    { port, hostname: "127.0.0.1", onListen: () => {} },
    () => new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } }),
  );
  return { url: `http://127.0.0.1:${port}`, server };
}

Deno.test("widget in Chromium - open, ask, the answer streams in with its source, history after reload, handoff, unread count, phone layout; other origins get nothing", async () => {
  await using cluster = await widgetCluster({ single: true });
  const creator = await cluster.signup();
  await creator.knowledge(GUIDE);
  const w = await cluster.widget(creator, ["http://not-yet.example"], {
    title: "Coach Ada",
    color: "#2f4858",
    greeting: "Hi, I'm Ada's coach. Ask me about sleep.",
    quick_replies: ["When should I stop coffee?", "How long can I nap?"],
  });
  const ok = site(cluster.a.url, w.key);
  const evil = site(cluster.a.url, w.key);
  await using _servers = {
    [Symbol.asyncDispose]: async () => {
      await ok.server.shutdown();
      await evil.server.shutdown();
    },
  };
  // The site's origin is known once its port is: the widget allows that site only.
  const patched = await creator.call("PATCH", `/channels/${w.id}`, { allowed_origins: [ok.url] });
  assert.deepEqual(patched.config.allowed_origins, [ok.url]);

  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  await using _browser = { [Symbol.asyncDispose]: () => browser.close() };
  const context = await browser.newContext({ viewport: { width: 1000, height: 720 } });
  const page = await context.newPage();
  await page.goto(ok.url);
  const launcher = page.locator("coachd-widget .launch");
  await launcher.waitFor({ timeout: 15_000 });
  // The host page's CSS (`button{all:unset}`, `.m{color:red}`) does not reach inside.
  assert.equal(
    await launcher.evaluate((el) =>
      // deno-lint-ignore no-explicit-any -- runs in the page
      (globalThis as any).getComputedStyle(el).position
    ),
    "fixed",
  );

  await launcher.click();
  const panel = page.locator("coachd-widget .panel");
  await panel.waitFor();
  assert.equal(await panel.locator("h2").textContent(), "Coach Ada");
  assert.match(await panel.locator(".log").textContent() ?? "", /Ask me about sleep/);
  assert.equal(await panel.locator(".log").getAttribute("aria-live"), "polite");
  assert.equal(await panel.locator(".qr button").count(), 2);

  // Keyboard only: the input has focus when the panel opens; Enter sends.
  await page.keyboard.type("Until what time can I drink coffee?");
  await page.keyboard.press("Enter");
  // The answer streams in (a bubble marked busy while its pieces arrive), then stands whole.
  await panel.locator('[aria-busy="true"]').waitFor({ timeout: 60_000 });
  const answer = panel.locator(".m.assistant").filter({ hasText: "2 pm" });
  await answer.waitFor({ timeout: 30_000 });
  await panel.locator('[aria-busy="true"]').waitFor({ state: "detached" });
  assert.match(await answer.locator(".src").textContent() ?? "", /guide\.md/);
  await page.screenshot({ path: "docs/images/widget.png" });

  // Reload: the conversation is there again, from the node.
  await page.reload();
  await page.locator("coachd-widget .launch").click();
  await page.locator("coachd-widget .m.user").filter({ hasText: "drink coffee" }).waitFor();
  await page.locator("coachd-widget .m.assistant").filter({ hasText: "2 pm" }).waitFor();
  assert.equal(await page.locator("coachd-widget .m.user").count(), 1);

  // "Talk to a human" hands the conversation to the creator, and says so.
  await page.locator("coachd-widget header button", { hasText: "Talk to a human" }).click();
  // Waited for as a stored message, not while it streams in: arriving after the panel closes, it
  // would count as unread too.
  await page.locator('coachd-widget .m.assistant:not([aria-busy="true"])')
    .filter({ hasText: "passing your message" })
    .waitFor({ timeout: 30_000 });

  // Unread: closed panel, the creator answers from the handoff inbox; the bubble counts it.
  await page.keyboard.press("Escape");
  await page.locator("coachd-widget .panel").waitFor({ state: "detached" });
  assert.equal(await page.locator("coachd-widget .badge").count(), 0, "nothing unread yet");
  const endUser = await cluster.db.pool.query<{ id: string }>(
    "select end_user_id id from channel_identities where connection_id = $1",
    [w.id],
  );
  const conv = await eventually(async () => {
    const list = await creator.call("GET", `/conversations?status=handoff`);
    return list.data?.length ? list : undefined;
  }, { what: "the conversation in the handoff inbox" });
  assert.equal(conv.data[0].end_user_id, endUser.rows[0]!.id);
  await creator.call("POST", `/conversations/${conv.data[0].id}/reply`, { text: "Sleep well!" });
  // Generous: on a loaded machine the reply waits behind the delivery worker's other work.
  await page.locator("coachd-widget .badge").filter({ hasText: "1" }).waitFor({ timeout: 60_000 });
  assert.match(await launcher.getAttribute("aria-label") ?? "", /1 unread/);

  // On a phone the open panel takes the whole screen.
  await page.setViewportSize({ width: 390, height: 800 });
  await launcher.click();
  const box = await page.locator("coachd-widget .panel").boundingBox();
  assert.equal(Math.round(box!.width), 390);
  assert.equal(Math.round(box!.height), 800);

  // A page on an origin the widget does not allow: the config call is refused, nothing renders.
  const other = await context.newPage();
  // The browser sees a refused cross-origin call (a 403 without CORS headers) as a failure.
  const refused = other.waitForEvent("requestfailed", (r) => r.url().includes("/widget/v1/config"));
  await other.goto(evil.url);
  await refused;
  const direct = await fetch(`${cluster.a.url}/widget/v1/config?key=${w.key}`, {
    headers: { origin: evil.url },
  });
  assert.equal(direct.status, 403);
  await direct.body?.cancel();
  await other.waitForLoadState("networkidle");
  assert.equal(await other.locator("coachd-widget").count(), 0);
});
