import assert from "node:assert/strict";
import { decodeJwt, SignJWT } from "jose";
import { testApi } from "../tests/api_harness.ts";

Deno.test("auth - sign-up, login, refresh rotation, and reuse of a rotated token revokes the family", async () => {
  await using t = await testApi();
  const email = `Coach-${crypto.randomUUID().slice(0, 6)}@Example.test`;
  const s = await t.signup(email);
  const me = await (await t.call("GET", "/me", { token: s.token })).json();
  assert.equal(me.role, "owner");
  assert.equal(me.creator.id, s.creatorId);

  // Signing up again answers as for a new address; the address gets a notice, not a token.
  const fresh = await t.call("POST", "/auth/signup", {
    json: { email: "nobody-yet@example.test", password: "another long password", name: "X" },
  });
  const dup = await t.call("POST", "/auth/signup", {
    json: { email: email.toLowerCase(), password: "another long password", name: "X" },
  });
  assert.deepEqual([dup.status, await dup.json()], [fresh.status, await fresh.json()]);
  assert.equal(dup.status, 202);
  assert.deepEqual(t.mailer.sent.slice(-2).map((n) => n.kind), [
    "signup_confirmation",
    "signup_existing_account",
  ]);

  const wrong = await t.call("POST", "/auth/login", {
    json: { email, password: "not the password" },
  });
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();
  const login = await t.call("POST", "/auth/login", {
    json: { email: email.toLowerCase(), password: "correct horse battery" },
  });
  assert.equal(login.status, 200);
  const tokens = await login.json();

  const stored = await t.db.pool.query("select password_hash from creator_members where id = $1", [
    s.memberId,
  ]);
  assert.match(stored.rows[0].password_hash, /^\$argon2id\$/);

  const r1 = await t.call("POST", "/auth/refresh", {
    json: { refresh_token: tokens.refresh_token },
  });
  assert.equal(r1.status, 200);
  const rotated = await r1.json();
  assert.notEqual(rotated.refresh_token, tokens.refresh_token);
  // The old token comes back (stolen copy): refused, and the new one dies with it.
  const reuse = await t.call("POST", "/auth/refresh", {
    json: { refresh_token: tokens.refresh_token },
  });
  assert.equal(reuse.status, 401);
  await reuse.body?.cancel();
  const after = await t.call("POST", "/auth/refresh", {
    json: { refresh_token: rotated.refresh_token },
  });
  assert.equal(after.status, 401);
  await after.body?.cancel();
});

Deno.test("auth - forged, expired and wrong-audience tokens are 401", async () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  await using t = await testApi({ jwtSecret: key });
  const s = await t.signup();
  const { sid } = decodeJwt(s.token);
  const sign = (secret: Uint8Array, exp: string | number, aud = "coachd-admin") =>
    new SignJWT({ cid: s.creatorId, role: "owner", sid }).setProtectedHeader({ alg: "HS256" })
      .setSubject(s.memberId).setIssuer("coachd").setAudience(aud).setIssuedAt(0)
      .setExpirationTime(exp).sign(secret);
  const otherSecret = crypto.getRandomValues(new Uint8Array(32));
  for (const token of [await sign(otherSecret, "1h"), "garbage", s.token.slice(0, -2) + "xx"]) {
    const res = await t.call("GET", "/me", { token });
    assert.equal(res.status, 401, token);
    await res.body?.cancel();
  }
  // Signed with the right key: valid; expired in 1970 or for another audience: not.
  const ok = await t.call("GET", "/me", { token: await sign(key, "1h") });
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
  for (const token of [await sign(key, 1), await sign(key, "1h", "someone-else")]) {
    const res = await t.call("GET", "/me", { token });
    assert.equal(res.status, 401);
    await res.body?.cancel();
  }
});

Deno.test("auth - API keys are shown once, stored hashed, act with their role, and stop working when revoked", async () => {
  await using t = await testApi();
  const s = await t.signup();
  const created = await (await t.call("POST", "/api-keys", {
    token: s.token,
    json: { name: "CI", role: "editor" },
  })).json();
  assert.match(created.key, /^ck_live_/);
  const list = await (await t.call("GET", "/api-keys", { token: s.token })).json();
  assert.equal(list.data.length, 1);
  assert.equal(list.data[0].key, undefined);
  assert.equal(list.data[0].prefix, created.key.slice(0, 12));
  const row = await t.db.pool.query("select key_sha256 from api_keys");
  assert.ok(!JSON.stringify(row.rows).includes(created.key));

  const me = await (await t.call("GET", "/me", { token: created.key })).json();
  assert.deepEqual([me.kind, me.role, me.subject], ["api_key", "editor", created.id]);
  const kb = await t.call("POST", "/knowledge-bases", {
    token: created.key,
    json: { name: "via key" },
  });
  assert.equal(kb.status, 201);
  await kb.body?.cancel();
  const forbidden = await t.call("POST", "/api-keys", {
    token: created.key,
    json: { name: "escalate", role: "admin" },
  });
  assert.equal(forbidden.status, 403);
  await forbidden.body?.cancel();

  assert.equal((await t.call("DELETE", `/api-keys/${created.id}`, { token: s.token })).status, 204);
  const revoked = await t.call("GET", "/me", { token: created.key });
  assert.equal(revoked.status, 401);
  await revoked.body?.cancel();
  const log = await (await t.call("GET", "/audit-log?resource_type=api_key", { token: s.token }))
    .json();
  assert.deepEqual(log.data.map((e: { action: string }) => e.action), [
    "api_key.revoke",
    "api_key.create",
  ]);
});

Deno.test("auth - members get roles; a role change signs them out of refresh; the owner cannot be demoted", async () => {
  await using t = await testApi();
  const owner = await t.signup();
  const email = `ed-${crypto.randomUUID().slice(0, 6)}@example.test`;
  const member = await (await t.call("POST", "/members", {
    token: owner.token,
    json: { email, password: "editor password!", role: "editor", name: "Ed" },
  })).json();
  const login = await (await t.call("POST", "/auth/login", {
    json: { email, password: "editor password!" },
  })).json();
  assert.equal(login.role, "editor");
  assert.equal(login.creator_id, owner.creatorId);
  const denied = await t.call("GET", "/audit-log", { token: login.access_token });
  assert.equal(denied.status, 403);
  await denied.body?.cancel();
  const patched = await t.call("PATCH", `/members/${member.id}`, {
    token: owner.token,
    json: { role: "viewer" },
  });
  assert.equal((await patched.json()).role, "viewer");
  const refresh = await t.call("POST", "/auth/refresh", {
    json: { refresh_token: login.refresh_token },
  });
  assert.equal(refresh.status, 401);
  await refresh.body?.cancel();
  const demote = await t.call("PATCH", `/members/${owner.memberId}`, {
    token: owner.token,
    json: { role: "admin" },
  });
  assert.equal(demote.status, 403);
  await demote.body?.cancel();
});
