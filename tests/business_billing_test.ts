/**
 * Billing end to end over HTTP: Checkout against the Stripe fake, events signed and delivered to
 * `POST /hooks/stripe`, forged signatures, duplicates and out-of-order events, the grace period
 * after a failed payment, and plan limits with their problem, audit entry and e-mail.
 */
import assert from "node:assert/strict";
import { withSystem } from "../db/tenant.ts";
import { takeIn } from "../channels/core/intake.ts";
import { businessEnv } from "./business_env.ts";
import { startFakeTelegram } from "./fakes/telegram.ts";

const DAY = 86400_000;

Deno.test("billing - upgrade through Checkout; the signed webhook flips the plan; a repeat is a no-op", async () => {
  await using env = await businessEnv();
  const me = await env.signup();
  const before = await env.call("GET", "/v1/billing", { token: me.token });
  assert.equal(before.status, 200);
  assert.equal(before.json.plan, "free");
  assert.equal(before.json.limits.knowledge_bases, 1);
  assert.equal(before.json.usage.members, 1);

  const checkout = await env.call("POST", "/v1/billing/checkout", {
    token: me.token,
    body: { plan: "pro" },
  });
  assert.equal(checkout.status, 201, checkout.text);
  assert.ok(checkout.json.url.startsWith(env.stripe.url), checkout.json.url);
  const session = env.stripe.sessions.get(checkout.json.id)!;
  assert.equal(session.client_reference_id, me.creatorId);
  assert.equal(env.stripe.customers.get(session.customer)?.metadata.creator_id, me.creatorId);

  // Paid, but no event yet: still free.
  const events = env.stripe.completeCheckout(checkout.json.id);
  assert.equal((await env.call("GET", "/v1/billing", { token: me.token })).json.plan, "free");
  for (const e of events) {
    const res = await env.stripe.deliver(`${env.url}/hooks/stripe`, e);
    assert.equal(res.status, 200, res.body);
    assert.equal(JSON.parse(res.body).outcome, "applied");
  }
  const after = await env.call("GET", "/v1/billing", { token: me.token });
  assert.equal(after.json.plan, "pro");
  assert.equal(after.json.status, "active");
  assert.equal(after.json.limits.knowledge_bases, 10);
  assert.ok(after.json.current_period_end);
  assert.equal(
    (await env.call("GET", "/v1/me", { token: me.token })).json.creator.subscription_tier,
    "pro",
  );
  // Stripe retries an event it thinks was lost: applied once.
  const again = await env.stripe.deliver(`${env.url}/hooks/stripe`, events[1]!);
  assert.equal(JSON.parse(again.body).outcome, "duplicate");
  const audit = await env.call("GET", "/v1/audit-log?action=billing.subscription_changed", {
    token: me.token,
  });
  assert.equal(audit.json.data.length, 1);
  assert.equal(audit.json.data[0].details.plan, "pro");

  // The portal for the same customer.
  const portal = await env.call("POST", "/v1/billing/portal", { token: me.token, body: {} });
  assert.equal(portal.status, 201, portal.text);
  assert.ok(portal.json.url.startsWith(`${env.stripe.url}/p/session/`));
});

Deno.test("billing - a forged or missing Stripe-Signature is refused and changes nothing", async () => {
  await using env = await businessEnv();
  const me = await env.signup();
  const checkout = await env.call("POST", "/v1/billing/checkout", {
    token: me.token,
    body: { plan: "business" },
  });
  const [completed] = env.stripe.completeCheckout(checkout.json.id);
  const forged = await env.stripe.deliver(`${env.url}/hooks/stripe`, completed!, {
    secret: "whsec_not_the_secret",
  });
  assert.equal(forged.status, 400);
  const problem = JSON.parse(forged.body);
  assert.equal(problem.title, "Bad signature");
  assert.equal(problem.errors[0].field, "header.stripe-signature");
  // A body changed after signing fails too.
  const { body, header } = await env.stripe.sign(completed!);
  const tampered = await fetch(`${env.url}/hooks/stripe`, {
    method: "POST",
    headers: { "stripe-signature": header, "content-type": "application/json" },
    body: body.replace('"complete"', '"open"'),
  });
  assert.equal(tampered.status, 400);
  await tampered.body?.cancel();
  const unsigned = await fetch(`${env.url}/hooks/stripe`, { method: "POST", body });
  assert.equal(unsigned.status, 400);
  await unsigned.body?.cancel();
  const seen = await withSystem(env.db.pool, (c) => c.query("select 1 from stripe_events"));
  assert.equal(seen.rowCount, 0);
  assert.equal((await env.call("GET", "/v1/billing", { token: me.token })).json.plan, "free");
});

Deno.test("billing - events out of order leave the newest state; cancellation at period end keeps the plan until then", async () => {
  await using env = await businessEnv();
  const me = await env.signup();
  const checkout = await env.call("POST", "/v1/billing/checkout", {
    token: me.token,
    body: { plan: "pro" },
  });
  const [completed, created] = env.stripe.completeCheckout(checkout.json.id);
  const subId = created!.data.object.id;
  await env.stripe.deliver(`${env.url}/hooks/stripe`, completed!);
  assert.equal((await env.call("GET", "/v1/billing", { token: me.token })).json.plan, "pro");

  // Cancelled at period end: the plan holds, and says so.
  const cancelAtEnd = env.stripe.updateSubscription(subId, { cancel_at_period_end: true });
  await env.stripe.deliver(`${env.url}/hooks/stripe`, cancelAtEnd);
  let state = (await env.call("GET", "/v1/billing", { token: me.token })).json;
  assert.equal(state.plan, "pro");
  assert.equal(state.cancel_at_period_end, true);

  // The period ends: Stripe deletes the subscription. Its deletion arrives before the older
  // "created" and "cancel at end" events, which must not bring the plan back.
  const deleted = env.stripe.updateSubscription(subId, { status: "canceled" });
  assert.equal(deleted.type, "customer.subscription.deleted");
  assert.equal(
    JSON.parse((await env.stripe.deliver(`${env.url}/hooks/stripe`, deleted)).body).outcome,
    "applied",
  );
  assert.equal((await env.call("GET", "/v1/billing", { token: me.token })).json.plan, "free");
  for (const stale of [created!, cancelAtEnd]) {
    const res = await env.stripe.deliver(`${env.url}/hooks/stripe`, stale);
    assert.equal(res.status, 200);
  }
  state = (await env.call("GET", "/v1/billing", { token: me.token })).json;
  assert.equal(state.plan, "free");
  assert.equal(state.status, "canceled");
  const tier = await withSystem(
    env.db.pool,
    (c) => c.query("select subscription_tier from creators where id = $1", [me.creatorId]),
  );
  assert.equal(tier.rows[0].subscription_tier, "free");
});

Deno.test("billing - a failed payment keeps the plan through the grace period, tells the creator, then falls back to free", async () => {
  await using env = await businessEnv();
  const me = await env.signup();
  const checkout = await env.call("POST", "/v1/billing/checkout", {
    token: me.token,
    body: { plan: "pro" },
  });
  const [, created] = env.stripe.completeCheckout(checkout.json.id);
  await env.stripe.deliver(`${env.url}/hooks/stripe`, created!);
  const failed = env.stripe.failInvoice(created!.data.object.id);
  const res = await env.stripe.deliver(`${env.url}/hooks/stripe`, failed);
  assert.equal(res.status, 200, res.body);
  const state = (await env.call("GET", "/v1/billing", { token: me.token })).json;
  assert.equal(state.plan, "pro");
  assert.equal(state.status, "past_due");
  const grace = new Date(state.grace_until).getTime() - env.clock.now();
  assert.ok(Math.abs(grace - 7 * DAY) < 60_000, `grace ${grace}`);
  await env.inbox.waitFor(me.email, /(Your Coachd payment failed)/);

  env.clock.advance(8 * DAY);
  const later = (await env.call("GET", "/v1/billing", { token: me.token })).json;
  assert.equal(later.plan, "free");
  assert.equal(later.subscribed_plan, "pro");
});

Deno.test("billing - Stripe failing the Checkout call is a 502 problem, not a crash", async () => {
  await using env = await businessEnv();
  const me = await env.signup();
  env.stripe.failNext("/v1/customers", { status: 500 });
  env.stripe.failNext("/v1/customers", { status: 500 });
  env.stripe.failNext("/v1/customers", { status: 500 });
  const res = await env.call("POST", "/v1/billing/checkout", {
    token: me.token,
    body: { plan: "pro" },
  });
  assert.equal(res.status, 502, res.text);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const bad = await env.call("POST", "/v1/billing/checkout", {
    token: me.token,
    body: { plan: "gold" },
  });
  assert.equal(bad.status, 422);
  assert.equal(bad.json.errors[0].field, "body.plan");
});

Deno.test("limits - a create over the plan is a 402 naming the limit, audited and e-mailed once", async () => {
  await using env = await businessEnv();
  const me = await env.signup();
  const first = await env.call("POST", "/v1/knowledge-bases", {
    token: me.token,
    body: { name: "One" },
  });
  assert.equal(first.status, 201, first.text);
  for (let i = 0; i < 2; i++) {
    const over = await env.call("POST", "/v1/knowledge-bases", {
      token: me.token,
      body: { name: "Two" },
    });
    assert.equal(over.status, 402, over.text);
    assert.equal(over.headers.get("content-type"), "application/problem+json");
    assert.equal(over.json.title, "Plan limit reached");
    assert.equal(over.json.errors[0].field, "plan.limits.knowledge_bases");
    assert.match(over.json.detail, /Free plan allows 1 knowledge bases; 1 are in use/);
  }
  const list = await env.call("GET", "/v1/knowledge-bases", { token: me.token });
  assert.equal(list.json.data.length, 1);
  const audit = await env.call("GET", "/v1/audit-log?action=plan.limit_reached", {
    token: me.token,
  });
  assert.equal(audit.json.data.length, 1);
  assert.equal(audit.json.data[0].details.limit, "knowledge_bases");
  await env.inbox.waitFor(me.email, /(plan limit is reached: knowledge bases)/);
  const hits = await withSystem(
    env.db.pool,
    (c) => c.query("select refusals from plan_limit_hits where creator_id = $1", [me.creatorId]),
  );
  assert.equal(hits.rows[0].refusals, 2);
  assert.equal(env.inbox.mails.filter((m) => m.text.includes("plan limit is reached")).length, 1);

  // Uploads count stored bytes: 20 MB on free.
  const kb = first.json.id;
  await withSystem(env.db.pool, (c) =>
    c.query(
      `insert into documents (creator_id, knowledge_base_id, title, mime_type, size_bytes, content,
         content_sha256) values ($1, $2, 'big', 'text/plain', $3, '\\x00', 'x')`,
      [me.creatorId, kb, 20 * 1024 * 1024 - 10],
    ));
  const form = new FormData();
  form.append("file", new File(["more than ten bytes of text"], "a.txt", { type: "text/plain" }));
  const upload = await env.call("POST", `/v1/knowledge-bases/${kb}/documents`, {
    token: me.token,
    body: form,
  });
  assert.equal(upload.status, 402, upload.text);
  assert.equal(upload.json.errors[0].field, "plan.limits.document_bytes");

  // Members: 2 on free.
  const add = (n: number) =>
    env.call("POST", "/v1/members", {
      token: me.token,
      body: {
        email: `m${n}@example.test`,
        name: `M${n}`,
        password: "long enough pw",
        role: "viewer",
      },
    });
  assert.equal((await add(1)).status, 201);
  const third = await add(2);
  assert.equal(third.status, 402);
  assert.equal(third.json.errors[0].field, "plan.limits.members");
});

Deno.test("limits - the intake refuses messages over the monthly quota and new end users over the plan, and tells the creator", async () => {
  await using env = await businessEnv();
  const me = await env.signup();
  const busy = await env.signup();
  const gate = env.handle.business!.limits;
  const deps = { pool: env.db.pool, system: env.node.system, gate };
  const message = (creatorId: string, externalUserId: string, id: string) => ({
    creatorId,
    connectionId: crypto.randomUUID(),
    channel: "telegram" as const,
    externalUserId,
    externalMessageId: id,
    sentAt: Date.now(),
    content: { type: "text" as const, text: "hello" },
  });
  // 50 end users on free.
  await withSystem(env.db.pool, async (c) => {
    for (let i = 0; i < 50; i++) {
      await c.query(
        "insert into end_users (creator_id, channel, external_id) values ($1, 'telegram', $2)",
        [me.creatorId, `u${i}`],
      );
    }
  });
  const refused = await takeIn(deps, message(me.creatorId, "newcomer", "m1"));
  assert.deepEqual(refused, { status: "over_limit", limit: "end_users" });
  const count = await withSystem(
    env.db.pool,
    (c) => c.query("select count(*)::int n from end_users where creator_id = $1", [me.creatorId]),
  );
  assert.equal(count.rows[0].n, 50);
  await env.inbox.waitFor(me.email, /(plan limit is reached: end users)/);

  // The month's messages: 1,000 on free; this one is the 1,001st.
  await withSystem(env.db.pool, (c) =>
    c.query(
      `insert into usage_monthly (creator_id, month, messages)
       values ($1, date_trunc('month', now() at time zone 'utc')::date, 1000)`,
      [busy.creatorId],
    ));
  const over = await takeIn(deps, message(busy.creatorId, "u1", "m2"));
  assert.deepEqual(over, { status: "over_limit", limit: "messages_per_month" });
  await env.inbox.waitFor(busy.email, /(plan limit is reached: inbound messages this month)/);
  await gate.settled();
  const billing = await env.call("GET", "/v1/billing", { token: busy.token });
  assert.equal(billing.json.usage.messages_per_month, 1001);
  assert.equal(
    (await env.call("GET", "/v1/billing", { token: me.token })).json.usage.end_users,
    50,
  );
});

Deno.test("limits - a new person writing to a Telegram bot over the end-user limit is not taken in; the webhook is answered and the creator told", async () => {
  await using tg = startFakeTelegram();
  await using env = await businessEnv({ TELEGRAM_API_URL: tg.url });
  const me = await env.signup();
  const connected = await env.call("POST", "/v1/channels", {
    token: me.token,
    body: { kind: "telegram", name: "Coach bot", bot_token: tg.bot.token },
  });
  assert.equal(connected.status, 201, connected.text);
  // A second channel is over the free plan.
  const second = await env.call("POST", "/v1/channels", {
    token: me.token,
    body: { kind: "telegram", name: "Other bot", bot_token: tg.bot.token },
  });
  assert.equal(second.status, 402);
  assert.equal(second.json.errors[0].field, "plan.limits.channels");
  await withSystem(env.db.pool, async (c) => {
    for (let i = 0; i < 50; i++) {
      await c.query(
        "insert into end_users (creator_id, channel, external_id) values ($1, 'telegram', $2)",
        [me.creatorId, `t${i}`],
      );
    }
  });
  const ada = tg.addUser({ first_name: "Ada" });
  const started = await tg.deliverUpdate(tg.bot.token, tg.bot.updates.start(ada));
  assert.equal(started.via === "webhook" && started.status, 200);
  await env.inbox.waitFor(me.email, /(plan limit is reached: end users)/);
  const users = await env.call("GET", "/v1/billing", { token: me.token });
  assert.equal(users.json.usage.end_users, 50);
  const identities = await withSystem(
    env.db.pool,
    (c) =>
      c.query("select count(*)::int n from channel_identities where creator_id = $1", [
        me.creatorId,
      ]),
  );
  assert.equal(identities.rows[0].n, 0);
});
