import assert from "node:assert/strict";
import { htmlToText } from "./html_text.ts";

Deno.test("htmlToText() - chrome marked by class, id or role is dropped, the article kept", () => {
  const text = htmlToText(`<html><body>
    <div class="site-header"><div class="menu"><a>Home</a> <a>Shop</a></div></div>
    <div id="cookie-banner">We use cookies to improve your experience.</div>
    <div class="content"><h1>Strength</h1><p class="meta">Posted by Maya · 6 min read</p>
      <h2>Warming up</h2><p>Spend five to ten minutes on light cardio.</p>
      <div class="share">Share this post: Facebook Twitter</div></div>
    <div class="sidebar"><h3>Popular posts</h3><div class="newsletter">Subscribe now.</div></div>
    <div role="contentinfo">© 2026 Maya Moves</div>
  </body></html>`);
  assert.match(text, /# Strength/);
  assert.match(text, /## Warming up\n\nSpend five to ten minutes on light cardio\./);
  for (
    const chrome of [
      "Home",
      "cookies",
      "Posted by",
      "Share this",
      "Popular posts",
      "Subscribe",
      "©",
    ]
  ) {
    assert.ok(!text.includes(chrome), `${chrome} leaked into: ${text}`);
  }
});
