/**
 * Transactional e-mail: password reset and member invitations through the HTTP API and a real
 * SMTP server on loopback; SendGrid's API (the fake) with 429, 5xx and refusals; bounces and
 * failures recorded, never thrown; templates localised and escaped.
 */
import assert from "node:assert/strict";
import { withSystem } from "../db/tenant.ts";
import { jsonLogger, ManualClock } from "../runtime/mod.ts";
import {
  EmailSendError,
  Mailer,
  render,
  sendDueDigests,
  sendGridProvider,
  smtpProvider,
  TEMPLATE_NAMES,
} from "../business/mod.ts";
import { testDb } from "./harness.ts";
import { businessEnv, PASSWORD, startSmtpInbox } from "./business_env.ts";
import { startFakeSendGrid } from "./fakes/sendgrid.ts";

Deno.test("e-mail - a member resets a forgotten password with the code the SMTP server received; old sessions end", async () => {
  await using env = await businessEnv();
  const me = await env.signup();
  // The verification e-mail came through SMTP (signup used its code).
  assert.ok(
    env.inbox.mails.some((m) =>
      m.to.includes(me.email) && m.text.includes("Confirm your Coachd account")
    ),
  );
  const asked = await env.call("POST", "/v1/auth/password/forgot", { body: { email: me.email } });
  assert.equal(asked.status, 202);
  const unknown = await env.call("POST", "/v1/auth/password/forgot", {
    body: { email: "nobody@example.test" },
  });
  assert.equal(unknown.status, 202);
  assert.deepEqual(unknown.json, asked.json, "the answer does not tell whether the address exists");
  const code = await env.inbox.waitFor(me.email, /\b(pr_[A-Za-z0-9_-]+)/);

  const weak = await env.call("POST", "/v1/auth/password/reset", {
    body: { token: code, password: "short" },
  });
  assert.equal(weak.status, 422);
  assert.equal(weak.json.errors[0].field, "body.password");
  const reset = await env.call("POST", "/v1/auth/password/reset", {
    body: { token: code, password: "a brand new passphrase" },
  });
  assert.equal(reset.status, 204, reset.text);
  const reused = await env.call("POST", "/v1/auth/password/reset", {
    body: { token: code, password: "yet another passphrase" },
  });
  assert.equal(reused.status, 401);
  assert.equal(reused.headers.get("content-type"), "application/problem+json");

  const oldLogin = await env.call("POST", "/v1/auth/login", {
    body: { email: me.email, password: PASSWORD },
  });
  assert.equal(oldLogin.status, 401);
  const login = await env.call("POST", "/v1/auth/login", {
    body: { email: me.email, password: "a brand new passphrase" },
  });
  assert.equal(login.status, 200, login.text);
  const refresh = await env.call("POST", "/v1/auth/refresh", {
    body: { refresh_token: me.refreshToken },
  });
  assert.equal(refresh.status, 401, "the session from before the reset ended");
  const log = await withSystem(
    env.db.pool,
    (c) =>
      c.query(
        "select template, status, provider from email_log where recipient = $1 order by created_at",
        [me.email],
      ),
  );
  assert.deepEqual(log.rows.map((r) => [r.template, r.status, r.provider]), [
    ["email_verification", "sent", "smtp"],
    ["password_reset", "sent", "smtp"],
  ]);
});

Deno.test("e-mail - an added member gets an invitation; a refused recipient is recorded as bounced and the API still answers", async () => {
  await using env = await businessEnv();
  const me = await env.signup();
  const add = await env.call("POST", "/v1/members", {
    token: me.token,
    body: { email: "ada@example.test", name: "Ada", password: "long enough pw", role: "editor" },
  });
  assert.equal(add.status, 201, add.text);
  const team = await env.inbox.waitFor("ada@example.test", /You were added to (.+) on Coachd/);
  assert.equal(team, "Coach");
  env.inbox.reject = /^bounce@/;
  const bounced = await env.call("POST", "/v1/members", {
    token: me.token,
    body: { email: "bounce@example.test", name: "B", password: "long enough pw", role: "viewer" },
  });
  assert.equal(bounced.status, 402, "the free plan holds two members");
  await withSystem(
    env.db.pool,
    (c) =>
      c.query("update creator_billing set plan = 'pro', status = 'active' where creator_id = $1", [
        me.creatorId,
      ]),
  );
  await withSystem(env.db.pool, (c) =>
    c.query(
      "insert into creator_billing (creator_id, plan, status) values ($1, 'pro', 'active') on conflict do nothing",
      [me.creatorId],
    ));
  const ok = await env.call("POST", "/v1/members", {
    token: me.token,
    body: { email: "bounce@example.test", name: "B", password: "long enough pw", role: "viewer" },
  });
  assert.equal(ok.status, 201, ok.text);
  const log = await withSystem(
    env.db.pool,
    (c) => c.query("select status, error from email_log where recipient = 'bounce@example.test'"),
  );
  assert.equal(log.rows[0].status, "bounced");
  assert.match(log.rows[0].error, /550|rejected/i);
});

Deno.test("e-mail - SendGrid: 429 with Retry-After and 5xx are retried, a refusal is a permanent error", async () => {
  await using sg = startFakeSendGrid();
  const clock = new ManualClock();
  const waits: number[] = [];
  const stepping = {
    now: () => clock.now(),
    setTimeout: (fn: () => void, ms: number) => {
      waits.push(ms);
      return clock.setTimeout(fn, 0);
    },
    clearTimeout: (h: number) => clock.clearTimeout(h),
  };
  const provider = sendGridProvider({ apiKey: sg.apiKey, baseUrl: sg.url, clock: stepping });
  const message = {
    to: "ada@example.test",
    from: "coachd@example.test",
    subject: "Hi",
    text: "t",
    html: "<p>t</p>",
  };
  sg.failNext({ status: 429, retryAfter: 3 });
  sg.failNext({ status: 503 });
  const sent = await provider.send(message);
  assert.ok(sent.messageId);
  assert.equal(sg.sent.length, 1);
  assert.equal(sg.sent[0]!.subject, "Hi");
  assert.deepEqual(sg.requests.map((r) => r.status), [429, 503, 202]);
  assert.equal(waits[0], 3000, "Retry-After is honoured");

  await assert.rejects(provider.send({ ...message, to: "not an address" }), (err: unknown) => {
    assert.ok(err instanceof EmailSendError);
    assert.equal(err.permanent, true);
    assert.equal(err.status, 400);
    assert.match(err.message, /valid address/);
    return true;
  });
  for (let i = 0; i < 3; i++) sg.failNext({ status: 500 });
  await assert.rejects(
    provider.send(message),
    (err: unknown) => err instanceof EmailSendError && !err.permanent && err.status === 500,
  );
  const wrongKey = sendGridProvider({ apiKey: "SG.wrong", baseUrl: sg.url, clock: stepping });
  await assert.rejects(
    wrongKey.send(message),
    (err: unknown) => err instanceof EmailSendError && err.status === 401,
  );
});

Deno.test("e-mail - the mailer records sent, failed and bounced and never throws", async () => {
  await using db = await testDb();
  await using sg = startFakeSendGrid();
  const mailer = new Mailer({
    pool: db.pool,
    provider: sendGridProvider({ apiKey: sg.apiKey, baseUrl: sg.url, attempts: 1 }),
    from: "coachd@example.test",
    appUrl: "https://coach.example",
    log: jsonLogger("error"),
  });
  const vars = {
    new_end_users: "3",
    messages: "40",
    handoffs: "1",
    active_end_users: "9",
    plan: "Free",
    link: "x",
  };
  assert.equal((await mailer.send("weekly_digest", { to: "a@example.test", vars })).status, "sent");
  sg.failNext({ status: 500 });
  assert.equal(
    (await mailer.send("weekly_digest", { to: "a@example.test", vars })).status,
    "failed",
  );
  assert.equal((await mailer.send("weekly_digest", { to: "broken", vars })).status, "bounced");
  // A template missing a variable is a failure too, not a crash.
  assert.equal(
    (await mailer.send("weekly_digest", { to: "a@example.test", vars: {} })).status,
    "failed",
  );
  const unreachable = new Mailer({
    pool: db.pool,
    provider: smtpProvider("smtp://127.0.0.1:9", { timeoutMs: 2000 }),
    from: "coachd@example.test",
    appUrl: "https://coach.example",
    log: jsonLogger("error"),
  });
  assert.equal(
    (await unreachable.send("weekly_digest", { to: "a@example.test", vars })).status,
    "failed",
  );
  const { rows } = await db.pool.query(
    "select status, provider from email_log order by created_at",
  );
  assert.deepEqual(rows.map((r) => `${r.provider}:${r.status}`), [
    "sendgrid:sent",
    "sendgrid:failed",
    "sendgrid:bounced",
    "sendgrid:failed",
    "smtp:failed",
  ]);
  assert.equal(sg.sent[0]!.subject, "Your week on Coachd");
  assert.match(sg.sent[0]!.text!, /3 new end users, 40 inbound messages/);
});

Deno.test("e-mail - every template renders in English and German; HTML escapes values", async () => {
  const vars = new Proxy({}, {
    get: (_t, k) => (k === "then" ? undefined : `<${String(k)}>`),
  }) as Record<string, string>;
  for (const name of TEMPLATE_NAMES) {
    const en = await render(name, "en", vars);
    const de = await render(name, "de-AT", vars);
    assert.equal(en.locale, "en");
    assert.equal(de.locale, "de");
    assert.notEqual(en.subject, de.subject, name);
    assert.ok(!en.html.includes("<token>") && !en.html.includes("<link>"), `${name} escapes`);
    assert.ok(
      !/\{\{/.test(en.text + en.html + de.text + de.html),
      `${name} fills every placeholder`,
    );
  }
  const fr = await render("password_reset", "fr", vars);
  assert.equal(fr.locale, "en");
  const reset = await render("password_reset", "de", {
    name: "Ada",
    team: "T",
    token: "pr_1",
    expires_at: "x",
    link: "y",
  });
  assert.equal(reset.subject, "Coachd-Passwort zurücksetzen");
  assert.match(reset.text, /pr_1/);
});

Deno.test("e-mail - a real SMTP server receives what nodemailer sends", async () => {
  await using inbox = await startSmtpInbox();
  const smtp = smtpProvider(inbox.url);
  try {
    const r = await smtp.send({
      to: "x@example.test",
      from: "coachd@example.test",
      subject: "S",
      text: "plain",
      html: "<b>h</b>",
    });
    assert.ok(r.messageId);
    assert.equal(await inbox.waitFor("x@example.test", /Subject: (S)/), "S");
    inbox.reject = /^x@/;
    await assert.rejects(
      smtp.send({
        to: "x@example.test",
        from: "coachd@example.test",
        subject: "S",
        text: "p",
        html: "h",
      }),
      (err: unknown) => err instanceof EmailSendError && err.permanent,
    );
  } finally {
    smtp.close();
  }
});

Deno.test("e-mail - the weekly digest goes out once a week with the week's figures", async () => {
  await using env = await businessEnv();
  const me = await env.signup();
  await withSystem(env.db.pool, async (c) => {
    await c.query("update creators set created_at = now() - interval '8 days' where id = $1", [
      me.creatorId,
    ]);
    for (let i = 0; i < 3; i++) {
      await c.query(
        `insert into end_users (creator_id, channel, external_id, last_active_at)
         values ($1, 'telegram', $2, now())`,
        [me.creatorId, `d${i}`],
      );
    }
  });
  const mailer = env.handle.business!.mailer;
  assert.equal(await sendDueDigests({ pool: env.db.pool, mailer, now: new Date() }), 1);
  const text = await env.inbox.waitFor(me.email, /(3 new end users, 0 inbound messages)/);
  assert.ok(text);
  assert.equal(await sendDueDigests({ pool: env.db.pool, mailer, now: new Date() }), 0);
  const week = new Date(Date.now() + 7 * 86400_000 + 60_000);
  assert.equal(await sendDueDigests({ pool: env.db.pool, mailer, now: week }), 1);
});
