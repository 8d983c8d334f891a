/**
 * The widget's real-time socket across two nodes: the socket on node a, the actors and delivery
 * workers on node b. Answers stream in; a dropped socket resumes from the last message id it saw
 * without losing or doubling a message; forged tokens and identities are refused; other origins
 * get 403; presence follows the socket.
 */
import assert from "node:assert/strict";
import { eventually } from "./harness.ts";
import { TestSocket, widgetCluster } from "./widget_env.ts";
import { identityHash, signSession } from "../channels/widget/session.ts";

const SITE = "http://site.example";

async function session(base: string, key: string, body: unknown = {}, origin = SITE) {
  const res = await fetch(`${base}/widget/v1/sessions?key=${key}`, {
    method: "POST",
    headers: { origin, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  // deno-lint-ignore no-explicit-any -- response shapes vary
  const json: any = await res.json();
  return { status: res.status, json };
}

const socketUrl = (base: string, key: string) =>
  `${base.replace("http", "ws")}/widget/v1/socket?key=${key}`;

// deno-lint-ignore no-explicit-any -- frames
const ids = (frames: any[]) =>
  frames.filter((f) => f.type === "message").map((f) => f.message.id as number);

Deno.test("widget socket - answered across nodes, streamed, resumed after a drop without loss or repeats", async () => {
  await using cluster = await widgetCluster();
  const creator = await cluster.signup();
  const w = await cluster.widget(creator, [SITE], { greeting: "Hello there" });
  const s = await session(cluster.a.url, w.key);
  assert.equal(s.status, 201);
  assert.equal(s.json.visitor.identified, false);
  const token = s.json.token as string;

  // First socket: a new visitor, no history yet.
  const one = new TestSocket(socketUrl(cluster.a.url, w.key), SITE);
  await one.opened();
  one.send({ type: "hello", v: 1, token });
  await one.waitFor((f) => f.type === "ready", "ready");
  one.send({ type: "message", cid: "cid-00000001", text: "How do I start running?" });
  const received = await one.waitFor((f) => f.type === "status", "status");
  assert.equal(received.status, "received");
  assert.equal(received.id, 1);
  await one.waitFor((f) => f.type === "typing" && f.on, "typing");
  const answer = await one.waitFor(
    (f) => f.type === "message" && f.message.role === "assistant",
    "the answer",
    90_000,
  );
  assert.equal(answer.live, true);
  assert.equal(answer.message.id, 2);
  // It streamed in first: its pieces, in order, add up to the whole text.
  const pieces = one.frames.filter((f) => f.type === "delta" && f.id === 2).map((f) => f.text);
  assert.ok(pieces.length > 1, `streamed in ${pieces.length} piece(s)`);
  assert.equal(pieces.join(""), answer.message.text);
  assert.ok(one.frames.indexOf(answer) > one.frames.findIndex((f) => f.type === "delta"));
  assert.deepEqual(ids(one.frames), [1, 2]);

  // The presence check on node b sees the socket held by node a.
  const endUserId = await endUser(cluster, w.id);
  assert.equal(await cluster.b.channels.realtime!.isLive(endUserId), true);
  one.close();
  await one.closed;
  await eventually(async () => !(await cluster.b.channels.realtime!.isLive(endUserId)), {
    what: "presence gone",
  });

  // While it is closed, a second tab sends a message and goes away before the answer.
  {
    await using tab = new TestSocket(socketUrl(cluster.a.url, w.key), SITE);
    await tab.opened();
    tab.send({ type: "hello", v: 1, token, after: 2 });
    await tab.waitFor((f) => f.type === "ready", "ready");
    tab.send({ type: "message", cid: "cid-00000002", text: "And how often?" });
    await tab.waitFor((f) => f.type === "status" && f.status === "received", "received");
  }
  const rows = async () =>
    (await cluster.db.pool.query<{ seq: string; role: string }>(
      "select seq, role from realtime_messages where end_user_id = $1 order by seq",
      [endUserId],
    )).rows;
  await eventually(async () => (await rows()).length === 4, { what: "the second answer logged" });

  // Resume from the last id the first socket saw: exactly what it missed, once, in order.
  await using two = new TestSocket(socketUrl(cluster.a.url, w.key), SITE);
  await two.opened();
  two.send({ type: "hello", v: 1, token, after: 2 });
  await two.waitFor((f) => f.type === "message" && f.message.id === 4, "replay");
  // The same message id sent again (a retry after the drop) is not taken in twice.
  two.send({ type: "message", cid: "cid-00000002", text: "And how often?" });
  const again = await two.waitFor(
    (f) => f.type === "status" && f.cid === "cid-00000002",
    "status of the retry",
  );
  assert.equal(again.id, 3);
  // A live message after the replay arrives once, with the next id: the creator writing from
  // the handoff inbox (the coach handed the conversation over after two unanswerable questions).
  const conversationId = await eventually(async () => {
    const list = await creator.call("GET", `/conversations?end_user_id=${endUserId}`);
    return list.data?.[0]?.id as string | undefined;
  }, { what: "the conversation record" });
  const reply = await creator.call("POST", `/conversations/${conversationId}/reply`, {
    text: "Hi, Ada here. Three times a week is a good start.",
  });
  assert.equal(reply.status, "accepted");
  const personal = await two.waitFor(
    (f) => f.type === "message" && f.message.id === 5,
    "the creator's reply",
  );
  assert.equal(personal.message.role, "creator");
  assert.deepEqual(ids(two.frames), [3, 4, 5]);
  assert.equal((await rows()).length, 5);
  const answers = await cluster.db.pool.query<{ n: string }>(
    "select count(*) n from deliveries where end_user_id = $1 and channel = 'web_widget'",
    [endUserId],
  );
  assert.equal(Number(answers.rows[0]!.n), 3);
  // History pages back from the oldest message shown.
  two.send({ type: "history", before: 3 });
  const page = await two.waitFor((f) => f.type === "history", "history page");
  assert.deepEqual(page.messages.map((m: { id: number }) => m.id), [1, 2]);
  assert.equal(page.more, false);
  // Delivered statuses reach the delivery rows.
  await eventually(async () =>
    (await cluster.db.pool.query(
      "select 1 from deliveries where end_user_id = $1 and status in ('delivered', 'read')",
      [endUserId],
    )).rowCount! >= 1, { what: "a delivered status" });
});

async function endUser(cluster: { db: { pool: import("pg").default.Pool } }, connectionId: string) {
  const { rows } = await cluster.db.pool.query<{ end_user_id: string }>(
    "select end_user_id from channel_identities where connection_id = $1 limit 1",
    [connectionId],
  );
  return rows[0]!.end_user_id;
}

Deno.test("widget sessions - forged tokens and identity hashes are refused, other origins get 403", async () => {
  await using cluster = await widgetCluster({ single: true });
  const creator = await cluster.signup();
  const w = await cluster.widget(creator, [SITE]);
  const base = cluster.a.url;

  // Identity verification: the right HMAC identifies the user, a forged one is refused.
  const good = await session(base, w.key, {
    user: { id: "alice", hash: identityHash(w.secret, "alice"), name: "Alice" },
  });
  assert.equal(good.status, 201);
  assert.deepEqual(good.json.visitor, { id: "u:alice", identified: true });
  const forged = await session(base, w.key, {
    user: { id: "alice", hash: identityHash("not-the-secret", "alice") },
  });
  assert.equal(forged.status, 403);
  assert.equal(forged.json.errors[0].field, "body.user.hash");
  // A token for a user signed with another secret is not taken over by a new session either.
  const fake = await signSession({
    identitySecret: "wis_attacker",
    connectionId: w.id,
    visitor: { externalUserId: "v:victim", identified: false },
  });
  const fresh = await session(base, w.key, { token: fake.token });
  assert.equal(fresh.status, 201);
  assert.notEqual(fresh.json.visitor.id, "v:victim");

  // A forged token on the socket: refused with 4401.
  {
    await using ws = new TestSocket(socketUrl(base, w.key), SITE);
    await ws.opened();
    ws.send({ type: "hello", v: 1, token: fake.token });
    assert.equal((await ws.closed).code, 4401);
  }
  // A tampered subject breaks the signature.
  {
    const [h, p, sig] = good.json.token.split(".");
    const claims = JSON.parse(atob(p.replace(/-/g, "+").replace(/_/g, "/")));
    claims.sub = "u:bob";
    const tampered = [h, btoa(JSON.stringify(claims)).replace(/=+$/, ""), sig].join(".");
    await using ws = new TestSocket(socketUrl(base, w.key), SITE);
    await ws.opened();
    ws.send({ type: "hello", v: 1, token: tampered });
    assert.equal((await ws.closed).code, 4401);
  }
  // The identified user's token works, on two devices: one person.
  for (let i = 0; i < 2; i++) {
    await using ws = new TestSocket(socketUrl(base, w.key), SITE);
    await ws.opened();
    ws.send({ type: "hello", v: 1, token: good.json.token });
    const ready = await ws.waitFor((f) => f.type === "ready", "ready");
    assert.deepEqual(ready.visitor, { id: "u:alice", identified: true });
  }

  // Other origins: 403 on every entry point, the script named by its key too.
  const evil = "http://evil.example";
  const config = await fetch(`${base}/widget/v1/config?key=${w.key}`, {
    headers: { origin: evil },
  });
  assert.equal(config.status, 403);
  await config.body?.cancel();
  assert.equal((await session(base, w.key, {}, evil)).status, 403);
  const script = await fetch(`${base}/widget.js?key=${w.key}`, {
    headers: { referer: `${evil}/x` },
  });
  assert.equal(script.status, 403);
  await script.body?.cancel();
  const upgrade = await fetch(socketUrl(base, w.key).replace("ws", "http"), {
    headers: {
      origin: evil,
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-version": "13",
      "sec-websocket-key": btoa("0123456789abcdef"),
    },
  });
  assert.equal(upgrade.status, 403);
  await upgrade.body?.cancel();
  // The allowed origin gets the look, with CORS for that origin only.
  const ok = await fetch(`${base}/widget/v1/config?key=${w.key}`, { headers: { origin: SITE } });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("access-control-allow-origin"), SITE);
  assert.equal((await ok.json()).look.title, "Coach Ada");
  // Unknown keys: 404 naming the field.
  const unknown = await session(base, "wk_doesnotexist000000");
  assert.equal(unknown.status, 404);
});

Deno.test("widget sessions - messages over the visitor's limit are refused", async () => {
  await using cluster = await widgetCluster({
    single: true,
    env: { WIDGET_MESSAGES_PER_VISITOR: "2" },
  });
  const creator = await cluster.signup();
  const w = await cluster.widget(creator, [SITE]);
  const s = await session(cluster.a.url, w.key);
  await using ws = new TestSocket(socketUrl(cluster.a.url, w.key), SITE);
  await ws.opened();
  ws.send({ type: "hello", v: 1, token: s.json.token });
  for (let i = 1; i <= 3; i++) ws.send({ type: "message", cid: `limit-000${i}`, text: `hi ${i}` });
  const third = await ws.waitFor((f) => f.type === "status" && f.cid === "limit-0003", "third");
  assert.equal(third.status, "rate_limited");
  const first = await ws.waitFor((f) => f.type === "status" && f.cid === "limit-0001", "first");
  assert.equal(first.status, "received");
});
