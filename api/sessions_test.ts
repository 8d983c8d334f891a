/**
 * Sessions end on every node: two API instances on one database, each with its own NATS
 * connection and a session cache far longer than the test, so only the invalidation over NATS can
 * make the second instance notice.
 */
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { decodeJwt, SignJWT } from "jose";
import { natsAuthEvents } from "./auth/sessions.ts";
import { eventually, NATS_URL } from "../tests/harness.ts";
import { type TestApi, testApi } from "../tests/api_harness.ts";

const LONG_CACHE = { sessionCacheMs: 600_000 };

/** A second node: its own NATS connection on the test's invalidation subject. */
async function secondNode(t: TestApi) {
  const nc = await connect({ servers: NATS_URL });
  const app = t.instance({
    ...LONG_CACHE,
    authEvents: natsAuthEvents(nc, `${t.nats.prefix}.auth.sessions`),
  });
  return { app, [Symbol.asyncDispose]: () => nc.close() };
}

async function addMember(t: TestApi, ownerToken: string, role: "admin" | "editor" | "viewer") {
  const email = `${role}-${crypto.randomUUID().slice(0, 6)}@example.test`;
  const created = await t.call("POST", "/members", {
    token: ownerToken,
    json: { email, password: "member password", role },
  });
  assert.equal(created.status, 201);
  const { id } = await created.json();
  const login = await t.call("POST", "/auth/login", {
    json: { email, password: "member password" },
  });
  assert.equal(login.status, 200);
  const tokens = await login.json();
  return { id, email, token: tokens.access_token as string, refresh: tokens.refresh_token };
}

const status = async (res: Response | Promise<Response>) => {
  const r = await res;
  await r.body?.cancel();
  return r.status;
};

Deno.test("sessions - a removed member's token stops working on another node, and the API keys they made are revoked", async () => {
  await using t = await testApi(LONG_CACHE);
  await using b = await secondNode(t);
  const owner = await t.signup();
  const m = await addMember(t, owner.token, "admin");
  assert.equal(await status(t.call("GET", "/me", { token: m.token, app: b.app })), 200);
  // The member makes a key, and that key makes another.
  const key = await (await t.call("POST", "/api-keys", {
    token: m.token,
    json: { name: "m's", role: "admin" },
  })).json();
  const key2 = await (await t.call("POST", "/api-keys", {
    token: key.key,
    json: { name: "key's", role: "viewer" },
  })).json();
  const ownerKey = await t.apiKey(owner, "viewer");

  assert.equal(await status(t.call("DELETE", `/members/${m.id}`, { token: owner.token })), 204);
  await eventually(
    async () => await status(t.call("GET", "/me", { token: m.token, app: b.app })) === 401,
    { timeoutMs: 3_000, what: "the removed member's token refused on the other node" },
  );
  assert.equal(
    await status(t.call("POST", "/api-keys", {
      token: m.token,
      json: { name: "late", role: "admin" },
    })),
    401,
  );
  for (const k of [key.key, key2.key]) {
    assert.equal(await status(t.call("GET", "/me", { token: k, app: b.app })), 401);
  }
  assert.equal(await status(t.call("GET", "/me", { token: ownerKey })), 200);
  const log = await (await t.call("GET", "/audit-log?action=api_key.revoke", {
    token: owner.token,
  })).json();
  assert.deepEqual(
    log.data.map((e: { resource_id: string; details: { reason: string } }) => e.details.reason),
    ["member_removed", "member_removed"],
  );
  assert.deepEqual(
    new Set(log.data.map((e: { resource_id: string }) => e.resource_id)),
    new Set([key.id, key2.id]),
  );
});

Deno.test("sessions - a member demoted to viewer loses admin rights at once on every node", async () => {
  await using t = await testApi(LONG_CACHE);
  await using b = await secondNode(t);
  const owner = await t.signup();
  const m = await addMember(t, owner.token, "admin");
  assert.equal(await status(t.call("GET", "/audit-log", { token: m.token, app: b.app })), 200);
  const patched = await t.call("PATCH", `/members/${m.id}`, {
    token: owner.token,
    json: { role: "viewer" },
  });
  assert.equal(patched.status, 200);
  await patched.body?.cancel();
  await eventually(
    async () => await status(t.call("GET", "/audit-log", { token: m.token, app: b.app })) === 401,
    { timeoutMs: 3_000, what: "the demoted member's admin token refused on the other node" },
  );
  // Signed in again, the member has the new role.
  const again = await (await t.call("POST", "/auth/login", {
    json: { email: m.email, password: "member password" },
  })).json();
  assert.equal(again.role, "viewer");
  assert.equal(await status(t.call("GET", "/audit-log", { token: again.access_token })), 403);
  assert.equal(await status(t.call("GET", "/members", { token: again.access_token })), 200);
});

Deno.test("sessions - logout ends the access token on every node, other sessions stay", async () => {
  await using t = await testApi(LONG_CACHE);
  await using b = await secondNode(t);
  const owner = await t.signup();
  const m = await addMember(t, owner.token, "editor");
  const other = await (await t.call("POST", "/auth/login", {
    json: { email: m.email, password: "member password" },
  })).json();
  assert.equal(await status(t.call("GET", "/me", { token: m.token, app: b.app })), 200);
  assert.equal(
    await status(t.call("POST", "/auth/logout", { json: { refresh_token: m.refresh } })),
    204,
  );
  await eventually(
    async () => await status(t.call("GET", "/me", { token: m.token, app: b.app })) === 401,
    { timeoutMs: 3_000, what: "the logged-out token refused on the other node" },
  );
  assert.equal(
    await status(t.call("POST", "/auth/refresh", { json: { refresh_token: m.refresh } })),
    401,
  );
  // The member's other sign-in (another device) is untouched.
  assert.equal(await status(t.call("GET", "/me", { token: other.access_token, app: b.app })), 200);
});

Deno.test("sessions - a correctly signed token without exp is refused", async () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  await using t = await testApi({ jwtSecret: key });
  const s = await t.signup();
  const { sid } = decodeJwt(s.token);
  const base = () =>
    new SignJWT({ cid: s.creatorId, role: "owner", sid }).setProtectedHeader({ alg: "HS256" })
      .setSubject(s.memberId).setIssuer("coachd").setAudience("coachd-admin").setIssuedAt();
  assert.equal(await status(t.call("GET", "/me", { token: await base().sign(key) })), 401);
  // The same claims with an expiry are fine: it is the missing exp that is refused.
  const ok = await base().setExpirationTime("5m").sign(key);
  assert.equal(await status(t.call("GET", "/me", { token: ok })), 200);
});
