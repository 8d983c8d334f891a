/**
 * The mobile app backend on a real node: the creator's backend exchanges its users for end-user
 * tokens with an API key (refused with a viewer key and for another creator's user), an anonymous
 * device registers with the app's public key, tokens refresh and are revoked at once; the app
 * sends a message, reads the answer in its history page by page, and keeps preferences.
 */
import assert from "node:assert/strict";
import { eventually } from "./harness.ts";
import { type NodeEnv, nodeEnv } from "./node_env.ts";

const GUIDE = `# Sleep guide

## Caffeine
Caffeine has a half-life of five to six hours. Stop drinking coffee by 2 pm so it does not keep
you awake at night.

## Naps
Keep naps short: twenty minutes at most, and before 3 pm.
`;

async function creatorWithApp(env: NodeEnv) {
  const { token, creatorId } = await env.signup();
  const key = async (role: string) =>
    (await env.call("POST", "/v1/api-keys", { token, body: { name: role, role } })).json.key;
  const app = await env.call("POST", "/v1/channels", {
    token,
    body: { kind: "mobile_app", name: "Coach app" },
  });
  assert.equal(app.status, 201, app.text);
  assert.match(app.json.public_key, /^ak_/);
  return {
    token,
    creatorId,
    admin: await key("admin"),
    viewer: await key("viewer"),
    publicKey: app.json.public_key as string,
  };
}

Deno.test("end-user tokens - exchange with an API key, refused for viewers and other creators, refresh, revoke at once", async () => {
  await using env = await nodeEnv();
  const a = await creatorWithApp(env);
  const b = await creatorWithApp(env);

  // The creator's backend signs in its own user 'u-42'; the end user is made on first use.
  const first = await env.call("POST", "/v1/end-user-tokens", {
    token: a.admin,
    body: { external_id: "u-42", display_name: "Ada" },
  });
  assert.equal(first.status, 201, first.text);
  assert.match(first.json.access_token, /^eat_/);
  const endUserId = first.json.end_user_id;
  const again = await env.call("POST", "/v1/end-user-tokens", {
    token: a.admin,
    body: { external_id: "u-42" },
  });
  assert.equal(again.json.end_user_id, endUserId, "the same user id is the same person");

  const byId = await env.call("POST", `/v1/end-users/${endUserId}/tokens`, { token: a.admin });
  assert.equal(byId.status, 201, byId.text);
  assert.equal(byId.json.end_user_id, endUserId);

  const viewer = await env.call("POST", `/v1/end-users/${endUserId}/tokens`, { token: a.viewer });
  assert.equal(viewer.status, 403);
  const other = await env.call("POST", `/v1/end-users/${endUserId}/tokens`, { token: b.admin });
  assert.equal(other.status, 404, "another creator's end user does not exist for them");
  const noKey = await env.call("POST", `/v1/end-users/${endUserId}/tokens`);
  assert.equal(noKey.status, 401);

  const me = (t: string) => env.call("GET", "/v1/app/me", { token: t });
  const access = byId.json.access_token;
  assert.equal((await me(access)).json.end_user_id, endUserId);
  // An end-user token is not a creator credential, nor the reverse.
  assert.equal((await env.call("GET", "/v1/end-users", { token: access })).status, 401);
  assert.equal((await me(a.admin)).status, 401);
  // A token stored anywhere is only a hash.
  const stored = await env.db.pool.query(
    "select count(*)::int n from end_user_tokens where access_sha256 = $1 or refresh_sha256 = $1",
    [access],
  );
  assert.equal(stored.rows[0].n, 0);

  // Refresh: a new pair; the old access and the used refresh token stop working.
  const refreshed = await env.call("POST", "/v1/app/tokens/refresh", {
    body: { refresh_token: byId.json.refresh_token },
  });
  assert.equal(refreshed.status, 200, refreshed.text);
  assert.notEqual(refreshed.json.access_token, access);
  assert.equal((await me(access)).status, 401);
  assert.equal((await me(refreshed.json.access_token)).status, 200);
  const reused = await env.call("POST", "/v1/app/tokens/refresh", {
    body: { refresh_token: byId.json.refresh_token },
  });
  assert.equal(reused.status, 401);

  // Sign-out from the app: refused on the very next request.
  const out = await env.call("DELETE", "/v1/app/tokens/current", {
    token: refreshed.json.access_token,
  });
  assert.equal(out.status, 204);
  assert.equal((await me(refreshed.json.access_token)).status, 401);

  // The creator signs the person out everywhere: the first pair dies too.
  assert.equal((await me(first.json.access_token)).status, 200);
  const all = await env.call("DELETE", `/v1/end-users/${endUserId}/tokens`, { token: a.admin });
  assert.equal(all.status, 200, all.text);
  assert.ok(all.json.revoked >= 2);
  assert.equal((await me(first.json.access_token)).status, 401);
  assert.equal((await me(again.json.access_token)).status, 401);

  // An anonymous device registers with the app's public key (and only with a live one).
  const device = await env.call("POST", "/v1/app/devices", {
    body: { public_key: a.publicKey, display_name: "Phone" },
  });
  assert.equal(device.status, 201, device.text);
  assert.notEqual(device.json.end_user_id, endUserId);
  const forged = await env.call("POST", "/v1/app/devices", {
    body: { public_key: "ak_forged" },
  });
  assert.equal(forged.status, 422);
  assert.equal(forged.json.errors[0].field, "body.public_key");

  // Erasing the person ends their tokens with everything else.
  assert.equal((await me(device.json.access_token)).status, 200);
  const erased = await env.call("DELETE", `/v1/end-users/${device.json.end_user_id}`, {
    token: a.admin,
  });
  assert.equal(erased.status, 204, erased.text);
  assert.equal((await me(device.json.access_token)).status, 401);

  // The app API and the exchange are in the OpenAPI document.
  const doc = await env.call("GET", "/v1/openapi.json");
  for (const path of ["/app/messages", "/app/preferences", "/end-users/{endUserId}/tokens"]) {
    assert.ok(doc.json.paths[path], `${path} is documented`);
  }
});

Deno.test("app REST - send a message, read the answer in the history page by page, preferences round trip", async () => {
  await using env = await nodeEnv();
  const a = await creatorWithApp(env);
  await env.knowledge(a.token, GUIDE);
  const device = await env.call("POST", "/v1/app/devices", {
    body: { public_key: a.publicKey, display_name: "Ada" },
  });
  const token = device.json.access_token;

  const questions = [
    "Until what time can I drink coffee?",
    "How long should a nap be?",
    "What is the half-life of caffeine?",
  ];
  for (const [i, text] of questions.entries()) {
    const sent = await env.call("POST", "/v1/app/messages", {
      token,
      body: { text, client_message_id: `m${i}` },
    });
    assert.equal(sent.status, 202, sent.text);
    assert.equal(sent.json.status, "accepted");
    await eventually(async () => {
      const h = await env.call("GET", "/v1/app/messages?limit=100", { token });
      return h.json.data.filter((m: { role: string }) => m.role === "assistant").length === i + 1;
    }, { timeoutMs: 20_000, what: `the answer to question ${i + 1}` });
  }
  const dup = await env.call("POST", "/v1/app/messages", {
    token,
    body: { text: questions[0], client_message_id: "m0" },
  });
  assert.equal(dup.json.status, "duplicate", "the same client message id is taken in once");

  // Newest first, two at a time, no repeats, nothing missing.
  const seen: Array<{ id: string; role: string; text: string; channel: string }> = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const q: string = cursor ? `&cursor=${cursor}` : "";
    const page = await env.call("GET", `/v1/app/messages?limit=2${q}`, { token });
    assert.equal(page.status, 200, page.text);
    seen.push(...page.json.data);
    cursor = page.json.next_cursor;
    pages++;
  } while (cursor);
  assert.equal(pages, 3);
  assert.equal(seen.length, 6);
  assert.equal(new Set(seen.map((m) => m.id)).size, 6);
  assert.deepEqual(seen.map((m) => m.role), [
    "assistant",
    "user",
    "assistant",
    "user",
    "assistant",
    "user",
  ]);
  assert.equal(seen[5]!.text, questions[0]);
  assert.match(seen[4]!.text, /2 pm/);
  assert.ok(seen.every((m) => m.channel === "mobile_app"));
  const bad = await env.call("GET", "/v1/app/messages?cursor=forged", { token });
  assert.equal(bad.status, 422);

  // The answer was delivered on the app channel: into the person's real-time log (no socket, no
  // device to push to), from which a socket resumes.
  const { rows: [d] } = await env.db.pool.query(
    "select channel, status, provider_message_ids from deliveries where purpose = 'answer' limit 1",
  );
  assert.equal(d.channel, "mobile_app");
  assert.equal(d.status, "sent");
  assert.match(d.provider_message_ids[0], /^rt:/);

  // Preferences: what the app sets is what the UserActor keeps.
  const before = await env.call("GET", "/v1/app/preferences", { token });
  assert.deepEqual(before.json, { quietHours: { start: "21:00", end: "08:00" }, proactive: true });
  const set = await env.call("PATCH", "/v1/app/preferences", {
    token,
    body: {
      timeZone: "Europe/Paris",
      quietHours: { start: "22:30", end: "07:00" },
      nudgeChannel: "telegram",
      proactive: false,
    },
  });
  assert.equal(set.status, 200, set.text);
  const after = await env.call("GET", "/v1/app/preferences", { token });
  assert.deepEqual(after.json, {
    timeZone: "Europe/Paris",
    quietHours: { start: "22:30", end: "07:00" },
    nudgeChannel: "telegram",
    proactive: false,
  });
  const wrong = await env.call("PATCH", "/v1/app/preferences", {
    token,
    body: { timeZone: "Mars/Olympus" },
  });
  assert.equal(wrong.status, 422);
  assert.equal(wrong.json.errors[0].field, "body.timeZone");
  const auto = await env.call("PATCH", "/v1/app/preferences", {
    token,
    body: { nudgeChannel: null },
  });
  assert.equal(auto.json.nudgeChannel, undefined);

  // Profile and badges.
  const renamed = await env.call("PATCH", "/v1/app/me", {
    token,
    body: { name: "Ada L.", goals: ["sleep better"] },
  });
  assert.equal(renamed.status, 200, renamed.text);
  assert.equal(renamed.json.profile.name, "Ada L.");
  assert.deepEqual(renamed.json.profile.goals, ["sleep better"]);
  assert.deepEqual(renamed.json.identities.map((i: { channel: string }) => i.channel), [
    "mobile_app",
  ]);
  const badges = await env.call("GET", "/v1/app/badges", { token });
  assert.deepEqual(badges.json, { data: [] });
});
