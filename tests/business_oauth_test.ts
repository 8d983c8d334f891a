/**
 * OAuth 2.0 for third-party apps, end to end with a real OAuth client library (`oauth4webapi`):
 * a registered client, the authorization-code flow with PKCE through the consent page, the token
 * working on the admin API with its scope's role, refresh with rotation, and revocation.
 */
import assert from "node:assert/strict";
import * as oauth from "oauth4webapi";
import { businessEnv, PASSWORD } from "./business_env.ts";

const insecure = { [oauth.allowInsecureRequests]: true };

Deno.test("oauth - a third-party app connects through consent with PKCE, calls the API within its scope, refreshes and is revoked", async () => {
  await using env = await businessEnv();
  const me = await env.signup();
  const redirectUri = "http://127.0.0.1:9/callback";
  const registered = await env.call("POST", "/v1/oauth/clients", {
    token: me.token,
    body: { name: "Zapier-like", redirect_uris: [redirectUri] },
  });
  assert.equal(registered.status, 201, registered.text);
  const notHttps = await env.call("POST", "/v1/oauth/clients", {
    token: me.token,
    body: { name: "x", redirect_uris: ["http://evil.example/cb"] },
  });
  assert.equal(notHttps.status, 422);

  const meta = await env.call("GET", "/.well-known/oauth-authorization-server");
  assert.deepEqual(meta.json.code_challenge_methods_supported, ["S256"]);
  const as: oauth.AuthorizationServer = {
    issuer: meta.json.issuer,
    authorization_endpoint: meta.json.authorization_endpoint,
    token_endpoint: meta.json.token_endpoint,
    revocation_endpoint: meta.json.revocation_endpoint,
  };
  const client: oauth.Client = { client_id: registered.json.id };
  const clientAuth = oauth.ClientSecretBasic(registered.json.client_secret);
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const authorize = new URL(as.authorization_endpoint!);
  authorize.search = new URLSearchParams({
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: redirectUri,
    scope: "read",
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
  }).toString();

  // Without PKCE there is no consent page.
  const noPkce = new URL(authorize);
  noPkce.searchParams.delete("code_challenge");
  assert.equal((await fetch(noPkce)).status, 400);
  const page = await fetch(authorize);
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("x-frame-options"), "DENY");
  const html = await page.text();
  assert.match(html, /Allow <em>Zapier-like<\/em>/);

  // The member signs in on the consent page and allows; a wrong password does not.
  const consent = (password: string, decision = "allow") => {
    const form = new URLSearchParams(authorize.searchParams);
    form.set("email", me.email);
    form.set("password", password);
    form.set("decision", decision);
    return fetch(authorize.origin + authorize.pathname, {
      method: "POST",
      body: form,
      redirect: "manual",
    });
  };
  const wrong = await consent("not the password");
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();
  const denied = await consent(PASSWORD, "deny");
  assert.equal(denied.status, 302);
  assert.match(denied.headers.get("location")!, /error=access_denied/);
  const allowed = await consent(PASSWORD);
  assert.equal(allowed.status, 302, await allowed.clone().text());
  const callback = new URL(allowed.headers.get("location")!);
  const params = oauth.validateAuthResponse(as, client, callback, state);

  // A wrong verifier is refused; the right one gets tokens.
  const tokens = await oauth.processAuthorizationCodeResponse(
    as,
    client,
    await oauth.authorizationCodeGrantRequest(
      as,
      client,
      clientAuth,
      params,
      redirectUri,
      verifier,
      insecure,
    ),
  );
  assert.ok(tokens.access_token.startsWith("coa_"));
  assert.ok(tokens.refresh_token);
  // The code is used up.
  await assert.rejects(async () =>
    oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(
        as,
        client,
        clientAuth,
        params,
        redirectUri,
        verifier,
        insecure,
      ),
    )
  );

  // On the admin API: read works, write is beyond the "read" scope.
  const list = await env.call("GET", "/v1/knowledge-bases", { token: tokens.access_token });
  assert.equal(list.status, 200, list.text);
  const who = await env.call("GET", "/v1/me", { token: tokens.access_token });
  assert.equal(who.json.role, "viewer");
  assert.equal(who.json.kind, "oauth");
  assert.equal(who.json.creator.id, me.creatorId);
  const write = await env.call("POST", "/v1/knowledge-bases", {
    token: tokens.access_token,
    body: { name: "x" },
  });
  assert.equal(write.status, 403);

  // Refresh rotates: the new access token works, the old refresh token no longer does.
  const refreshed = await oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token!, insecure),
  );
  assert.notEqual(refreshed.access_token, tokens.access_token);
  assert.equal((await env.call("GET", "/v1/me", { token: refreshed.access_token })).status, 200);
  await assert.rejects(async () =>
    oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token!, insecure),
    )
  );

  // A public-client style request without the secret is refused, PKCE or not.
  const noSecret = await fetch(as.token_endpoint!, {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: refreshed.refresh_token!,
      client_id: client.client_id,
      code_verifier: verifier,
    }),
  });
  assert.equal(noSecret.status, 401);
  assert.equal((await noSecret.json()).error, "invalid_client");

  // Revocation ends it.
  await oauth.processRevocationResponse(
    await oauth.revocationRequest(as, client, clientAuth, refreshed.access_token, insecure),
  );
  assert.equal((await env.call("GET", "/v1/me", { token: refreshed.access_token })).status, 401);
  // A wrong client secret gets nothing.
  const bad = await oauth.revocationRequest(
    as,
    client,
    oauth.ClientSecretBasic("cos_wrong"),
    refreshed.refresh_token!,
    insecure,
  );
  assert.equal(bad.status, 401);
});
