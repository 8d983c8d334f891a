/** Passwords and accounts: per-account throttling, and answers that do not reveal accounts. */
import assert from "node:assert/strict";
import { withSystem } from "../db/tenant.ts";
import { type TestApi, testApi } from "../tests/api_harness.ts";

const login = (t: TestApi, email: string, password: string, ip: string) =>
  t.call("POST", "/auth/login", { json: { email, password }, headers: { "x-forwarded-for": ip } });

Deno.test("login - 60 wrong passwords from one address, then the right one, is refused with Retry-After; failures are audited", async () => {
  // Waits of 30 s and more, so nothing in the test can outlast one.
  await using t = await testApi({ loginThrottle: { baseDelaySeconds: 30 } });
  const email = `owner-${crypto.randomUUID().slice(0, 6)}@example.test`;
  const owner = await t.signup(email);
  const statuses: number[] = [];
  for (let i = 0; i < 60; i++) {
    const res = await login(t, email, `wrong password ${i}`, "203.0.113.9");
    statuses.push(res.status);
    await res.body?.cancel();
  }
  // Three free tries, the fourth earns a wait; everything after it is refused unchecked.
  assert.deepEqual(statuses, [...Array(4).fill(401), ...Array(56).fill(429)]);
  const right = await login(t, email, "correct horse battery", "203.0.113.9");
  assert.equal(right.status, 429);
  const retryAfter = Number(right.headers.get("retry-after"));
  assert.ok(retryAfter > 0 && retryAfter <= 30, `retry-after ${retryAfter}`);
  assert.match(right.headers.get("content-type")!, /problem\+json/);
  await right.body?.cancel();

  // The owner elsewhere is not locked out.
  const elsewhere = await login(t, email, "correct horse battery", "198.51.100.20");
  assert.equal(elsewhere.status, 200);
  await elsewhere.body?.cancel();

  const log = await (await t.call("GET", "/audit-log?action=auth.login_failed", {
    token: owner.token,
  })).json();
  assert.equal(log.data.length, 4);
  assert.deepEqual(
    log.data.map((e: { actor_kind: string; actor_subject: string; resource_id: string }) => [
      e.actor_kind,
      e.actor_subject,
      e.resource_id,
    ]),
    Array(4).fill(["anonymous", "203.0.113.9", owner.memberId]),
  );
  assert.deepEqual(log.data.map((e: { details: { failures: number } }) => e.details.failures), [
    4,
    3,
    2,
    1,
  ]);
});

Deno.test("login - wrong passwords from many addresses slow the account on new addresses only, and boundedly", async () => {
  await using t = await testApi({
    loginThrottle: { accountFreeFailures: 5, baseDelaySeconds: 30, accountMaxDelaySeconds: 45 },
  });
  const email = `owner-${crypto.randomUUID().slice(0, 6)}@example.test`;
  await t.signup(email);
  // The owner's usual address: signed in from before.
  const usual = await login(t, email, "correct horse battery", "192.0.2.1");
  assert.equal(usual.status, 200);
  await usual.body?.cancel();
  const statuses: number[] = [];
  for (let i = 0; i < 10; i++) {
    const res = await login(t, email, "guess", `203.0.113.${100 + i}`);
    statuses.push(res.status);
    await res.body?.cancel();
  }
  // Six counted failures set the account's wait; the rest of the rotating addresses wait too.
  assert.deepEqual(statuses, [...Array(6).fill(401), ...Array(4).fill(429)]);
  const fresh = await login(t, email, "correct horse battery", "198.51.100.77");
  assert.equal(fresh.status, 429);
  assert.ok(Number(fresh.headers.get("retry-after")) <= 45, "the account-wide wait is capped");
  await fresh.body?.cancel();
  const again = await login(t, email, "correct horse battery", "192.0.2.1");
  assert.equal(again.status, 200, "the owner's known address keeps working");
  await again.body?.cancel();
  // An unknown e-mail is throttled the same way: a 429 does not reveal an account.
  const ghost = [];
  for (let i = 0; i < 5; i++) {
    const res = await login(t, "nobody@example.test", "guess", "203.0.113.250");
    ghost.push(res.status);
    await res.body?.cancel();
  }
  assert.deepEqual(ghost, [401, 401, 401, 401, 429]);
});

Deno.test("signup - a registered e-mail gets the same answer as a new one, and a notice instead of a token", async () => {
  await using t = await testApi();
  const taken = `taken-${crypto.randomUUID().slice(0, 6)}@example.test`;
  await t.signup(taken);
  const ask = async (email: string) => {
    const res = await t.call("POST", "/auth/signup", {
      json: { email, password: "some long password", name: "X" },
    });
    return { status: res.status, body: await res.json() };
  };
  const newEmail = `new-${crypto.randomUUID().slice(0, 6)}@example.test`;
  const [forNew, forTaken] = [await ask(newEmail), await ask(taken.toUpperCase())];
  assert.deepEqual(forTaken, forNew);
  assert.equal(forNew.status, 202);
  const last = t.mailer.sent.slice(-2);
  assert.deepEqual(last.map((n) => [n.kind, n.email]), [
    ["signup_confirmation", newEmail],
    ["signup_existing_account", taken.toUpperCase()],
  ]);
  assert.equal("token" in last[1]!, false);
  const recorded = await withSystem(
    t.db.pool,
    async (c) =>
      (await c.query("select kind from account_notices order by created_at")).rows.map((r) =>
        r.kind
      ),
  );
  assert.deepEqual(recorded.slice(-2), ["signup_confirmation", "signup_existing_account"]);
  // Nothing is created until the owner of the address confirms; a token works once.
  const token = t.mailer.confirmationFor(newEmail)!;
  const confirm = () => t.call("POST", "/auth/signup/confirm", { json: { token } });
  const first = await confirm();
  assert.equal(first.status, 201);
  assert.equal((await first.json()).role, "owner");
  const replay = await confirm();
  assert.equal(replay.status, 401);
  await replay.body?.cancel();
});

Deno.test("members - an e-mail of another tenant can be added (nothing revealed); a duplicate in the team is 409", async () => {
  await using t = await testApi();
  const emailA = `a-${crypto.randomUUID().slice(0, 6)}@example.test`;
  const a = await t.signup(emailA);
  const b = await t.signup();
  const add = (password: string) =>
    t.call("POST", "/members", {
      token: b.token,
      json: { email: emailA, password, role: "editor" },
    });
  const added = await add("b's own password");
  assert.equal(added.status, 201);
  await added.body?.cancel();
  const dup = await add("another password!");
  assert.equal(dup.status, 409);
  assert.equal((await dup.json()).errors[0].field, "body.email");

  // Each team's password opens its own membership.
  const asA = await (await login(t, emailA, "correct horse battery", "192.0.2.5")).json();
  assert.equal(asA.creator_id, a.creatorId);
  const asB = await (await login(t, emailA, "b's own password", "192.0.2.5")).json();
  assert.deepEqual([asB.creator_id, asB.role], [b.creatorId, "editor"]);
});

Deno.test("login - one e-mail and password in several teams asks for creator_id", async () => {
  await using t = await testApi();
  const email = `two-${crypto.randomUUID().slice(0, 6)}@example.test`;
  const a = await t.signup(email);
  const b = await t.signup();
  const added = await t.call("POST", "/members", {
    token: b.token,
    json: { email, password: "correct horse battery", role: "viewer" },
  });
  assert.equal(added.status, 201);
  await added.body?.cancel();
  const both = await login(t, email, "correct horse battery", "192.0.2.6");
  assert.equal(both.status, 409);
  const problem = await both.json();
  assert.equal(problem.errors[0].field, "body.creator_id");
  assert.match(problem.errors[0].message, new RegExp(a.creatorId));
  const chosen = await t.call("POST", "/auth/login", {
    json: { email, password: "correct horse battery", creator_id: b.creatorId },
  });
  assert.deepEqual(((r) => [r.creator_id, r.role])(await chosen.json()), [b.creatorId, "viewer"]);
});
