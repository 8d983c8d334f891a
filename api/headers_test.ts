/** Response headers: nosniff everywhere, a locked-down docs page, no caching of tokens, HSTS. */
import assert from "node:assert/strict";
import { testApi } from "../tests/api_harness.ts";

Deno.test("headers - nosniff on every kind of response; the docs page has a CSP and may not be framed", async () => {
  await using t = await testApi();
  const s = await t.signup();
  const responses: Record<string, Response> = {
    json: await t.call("GET", "/me", { token: s.token }),
    problem: await t.call("GET", "/me"),
    notFound: await t.call("GET", "/nowhere", { token: s.token }),
    spec: await t.call("GET", "/openapi.json"),
    docs: await t.root.request("/v1/docs"),
    asset: await t.root.request("/v1/docs/assets/init.js"),
    empty: await t.call("POST", "/auth/logout", { json: { refresh_token: "rt_unknown" } }),
  };
  for (const [what, res] of Object.entries(responses)) {
    assert.equal(res.headers.get("x-content-type-options"), "nosniff", what);
    assert.equal(res.headers.get("strict-transport-security"), null, `${what}: no HSTS by default`);
    await res.body?.cancel();
  }
  const csp = responses.docs!.headers.get("content-security-policy") ?? "";
  for (
    const directive of ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"]
  ) {
    assert.ok(csp.includes(directive), `docs CSP has ${directive}: ${csp}`);
  }
  assert.equal(responses.docs!.headers.get("x-frame-options"), "DENY");
  assert.match(responses.json!.headers.get("content-security-policy")!, /default-src 'none'/);
  // The assets keep their own caching.
  assert.match(responses.asset!.headers.get("cache-control")!, /max-age=86400/);
});

Deno.test("headers - token, key and secret responses are Cache-Control: no-store", async () => {
  await using t = await testApi();
  const email = `c-${crypto.randomUUID().slice(0, 6)}@example.test`;
  const asked = await t.call("POST", "/auth/signup", {
    json: { email, password: "correct horse battery", name: "C" },
  });
  await asked.body?.cancel();
  const confirmed = await t.call("POST", "/auth/signup/confirm", {
    json: { token: t.mailer.confirmationFor(email) },
  });
  const tokens = await confirmed.clone().json();
  const login = await t.call("POST", "/auth/login", {
    json: { email, password: "correct horse battery" },
  });
  const refreshed = await t.call("POST", "/auth/refresh", {
    json: { refresh_token: tokens.refresh_token },
  });
  const key = await t.call("POST", "/api-keys", {
    token: tokens.access_token,
    json: { name: "k", role: "viewer" },
  });
  const channel = await t.call("POST", "/channels", {
    token: tokens.access_token,
    json: { kind: "telegram", name: "bot", bot_token: "123:abc_DEF" },
  });
  for (const [what, res] of Object.entries({ confirmed, login, refreshed, key, channel })) {
    assert.ok(res.status < 300, `${what}: ${res.status}`);
    assert.equal(res.headers.get("cache-control"), "no-store", what);
    await res.body?.cancel();
  }
});

Deno.test("headers - Strict-Transport-Security only when configured", async () => {
  await using t = await testApi({ hsts: true });
  const res = await t.call("GET", "/openapi.json");
  assert.equal(res.headers.get("strict-transport-security"), "max-age=31536000; includeSubDomains");
  await res.body?.cancel();
});
