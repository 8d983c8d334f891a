/** What the API tells actors and hooks, and what it stores, observed in NATS and Postgres. */
import assert from "node:assert/strict";
import { withSystem } from "../db/tenant.ts";
import { readChannelSecrets } from "../channels/core/connection_secrets.ts";
import { SecretBox } from "../db/secrets.ts";
import { mailbox, seedEndUser, testApi } from "../tests/api_harness.ts";

const FLOW = {
  start: "hi",
  steps: [
    { id: "hi", type: "message", text: "Welcome", next: "goal" },
    { id: "goal", type: "question", text: "Your goal?", variable: "goal", next: "done" },
    { id: "done", type: "checkpoint", name: "onboarded" },
  ],
};

Deno.test("programs - publishing freezes a version and tells each enrolled user's actor", async () => {
  await using t = await testApi();
  const s = await t.signup();
  const p = await (await t.call("POST", "/programs", {
    token: s.token,
    json: { name: "Sleep better", flow_definition: FLOW },
  })).json();
  const u = await seedEndUser(t, s.creatorId);
  await withSystem(t.db.pool, (c) =>
    c.query(
      `insert into program_progress (creator_id, end_user_id, program_id, program_version)
       values ($1, $2, $3, 0)`,
      [s.creatorId, u.endUserId, p.id],
    ));
  const v1 = await (await t.call("POST", `/programs/${p.id}/publish`, { token: s.token })).json();
  assert.deepEqual([v1.status, v1.published_version], ["published", 1]);
  await t.call("PATCH", `/programs/${p.id}`, {
    token: s.token,
    json: { flow_definition: { start: "hi", steps: [FLOW.steps[0]!] } },
  });
  const v2 = await (await t.call("POST", `/programs/${p.id}/publish`, { token: s.token })).json();
  assert.equal(v2.published_version, 2);
  const versions = await (await t.call("GET", `/programs/${p.id}/versions`, { token: s.token }))
    .json();
  assert.deepEqual(versions.data.map((v: { version: number }) => v.version), [2, 1]);
  assert.equal(versions.data[1].flow_definition.steps.length, 3, "version 1 stays as published");

  const inbox = await mailbox(t, { type: "user", id: `${s.creatorId}:${u.endUserId}` });
  assert.deepEqual(inbox, [
    { k: "programPublished", d: { programId: p.id, version: 1 } },
    { k: "programPublished", d: { programId: p.id, version: 2 } },
  ]);
  const del = await t.call("DELETE", `/programs/${p.id}`, { token: s.token });
  assert.equal(del.status, 409);
  await del.body?.cancel();
});

Deno.test("end users - detail, export, and delete erases rows and tells the actor", async () => {
  await using t = await testApi();
  const s = await t.signup();
  const u = await seedEndUser(t, s.creatorId, { messages: 4, text: "sleeping badly" });
  const other = await seedEndUser(t, s.creatorId);
  const detail = await (await t.call("GET", `/end-users/${u.endUserId}`, { token: s.token }))
    .json();
  assert.equal(detail.engagement_30d.messages_in, 4);
  assert.equal(detail.achievements.length, 1);

  const found = await (await t.call("GET", "/messages/search?q=sleeping", { token: s.token }))
    .json();
  assert.equal(found.data.length, 4);
  const msgs = await (await t.call("GET", `/conversations/${u.conversationId}/messages?limit=3`, {
    token: s.token,
  })).json();
  assert.equal(msgs.data.length, 3);
  assert.ok(msgs.next_cursor);

  const exp = await t.call("GET", `/end-users/${u.endUserId}/export`, { token: s.token });
  assert.match(exp.headers.get("content-disposition")!, /attachment/);
  const data = await exp.json();
  assert.equal(data.messages.length, 4);
  assert.equal(data.conversations.length, 1);
  assert.equal(data.user.id, u.endUserId);

  assert.equal(
    (await t.call("DELETE", `/end-users/${u.endUserId}`, { token: s.token })).status,
    204,
  );
  const left = await withSystem(t.db.pool, async (c) => {
    const out: Record<string, number> = {};
    for (
      const table of [
        "conversations",
        "messages",
        "user_interactions",
        "engagement_metrics",
        "achievements",
      ]
    ) {
      out[table] = (await c.query(
        `select count(*)::int n from ${table} where end_user_id = $1`,
        [u.endUserId],
      )).rows[0].n;
    }
    return out;
  });
  assert.deepEqual(left, {
    conversations: 0,
    messages: 0,
    user_interactions: 0,
    engagement_metrics: 0,
    achievements: 0,
  });
  const kept = await t.db.pool.query(
    "select count(*)::int n from messages where end_user_id = $1",
    [
      other.endUserId,
    ],
  );
  assert.equal(kept.rows[0].n, 2);
  assert.deepEqual(await mailbox(t, { type: "user", id: `${s.creatorId}:${u.endUserId}` }), [
    { k: "erase", d: { reason: "deleted_by_creator" } },
  ]);
  assert.deepEqual(
    await mailbox(t, { type: "conversation", id: `${s.creatorId}:${u.conversationId}` }),
    [{ k: "erase", d: { reason: "deleted_by_creator" } }],
  );
  assert.deepEqual(t.deletedEndUsers, [u.endUserId]);
  const gone = await t.call("GET", `/end-users/${u.endUserId}`, { token: s.token });
  assert.equal(gone.status, 404);
  await gone.body?.cancel();
});

Deno.test("channels - secrets are sealed at rest, never returned, and the creator actor is told", async () => {
  await using t = await testApi();
  const s = await t.signup();
  const token = "123456:SECRET_bot_token_value";
  const res = await t.call("POST", "/channels", {
    token: s.token,
    json: { kind: "telegram", name: "Coach bot", bot_token: token },
  });
  assert.equal(res.status, 201);
  const ch = await res.json();
  assert.equal(ch.secret_hints.bot_token, "…alue");
  assert.ok(ch.generated_secrets.webhook_secret);
  const shown = await (await t.call("GET", `/channels/${ch.id}`, { token: s.token })).text();
  assert.ok(!shown.includes(token) && !shown.includes(ch.generated_secrets.webhook_secret));

  const raw = await t.db.pool.query("select * from channel_connections");
  const bytes = JSON.stringify(raw.rows) + new TextDecoder().decode(raw.rows[0].secret_ciphertext);
  assert.ok(!bytes.includes(token), "bot token stored in clear");

  // The test app's key is random; read it back through a box with the same key is covered by
  // the API itself, so check decryption with a wrong key fails and the record is bound to its row.
  const wrongBox = new SecretBox(crypto.getRandomValues(new Uint8Array(32)));
  await assert.rejects(readChannelSecrets(t.db.pool, wrongBox, s.creatorId, ch.id));

  const disabled = await t.call("PATCH", `/channels/${ch.id}`, {
    token: s.token,
    json: { status: "disabled" },
  });
  assert.equal((await disabled.json()).status, "disabled");
  assert.deepEqual(
    (await mailbox(t, { type: "creator", id: s.creatorId })).map((m) => m.k),
    ["channelConnected", "channelDisconnected"],
  );
  const originsOnBot = await t.call("PATCH", `/channels/${ch.id}`, {
    token: s.token,
    json: { allowed_origins: ["https://a.example"] },
  });
  assert.equal(originsOnBot.status, 422);
  await originsOnBot.body?.cancel();
});

Deno.test("channels - readChannelSecrets() opens what the API sealed", async () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  await using t = await testApi({ secretsKey: key });
  const s = await t.signup();
  const ch = await (await t.call("POST", "/channels", {
    token: s.token,
    json: {
      kind: "whatsapp",
      name: "WA",
      phone_number: "+15551234567",
      phone_number_id: "1234567890",
      access_token: "EAAG-access-token",
      app_secret: "app-secret-value",
    },
  })).json();
  const secrets = await readChannelSecrets(t.db.pool, new SecretBox(key), s.creatorId, ch.id);
  assert.deepEqual(Object.keys(secrets!).sort(), ["access_token", "app_secret", "verify_token"]);
  assert.equal(secrets!.access_token, "EAAG-access-token");
  assert.equal(ch.config.phone_number, "+15551234567");
  assert.equal(ch.config.access_token, undefined);
});

Deno.test("documents - upload stores bytes queued, re-upload bumps the version, delete calls the hook", async () => {
  await using t = await testApi();
  const s = await t.signup();
  const kb =
    await (await t.call("POST", "/knowledge-bases", { token: s.token, json: { name: "kb" } }))
      .json();
  const form = new FormData();
  form.append("file", new File(["# Sleep\nGo to bed."], "sleep.md", { type: "" }));
  form.append("metadata", JSON.stringify({ lang: "en" }));
  const res = await t.call("POST", `/knowledge-bases/${kb.id}/documents`, {
    token: s.token,
    body: form,
  });
  assert.equal(res.status, 202);
  const doc = await res.json();
  assert.deepEqual([doc.status, doc.mime_type, doc.title, doc.version, doc.metadata], [
    "queued",
    "text/markdown",
    "sleep.md",
    1,
    { lang: "en" },
  ]);
  const stored = await t.db.pool.query("select convert_from(content, 'UTF8') c from documents");
  assert.equal(stored.rows[0].c, "# Sleep\nGo to bed.");

  const again = new FormData();
  again.append("file", new File(["<h1>Sleep</h1>"], "sleep.html", { type: "text/html" }));
  const put = await (await t.call("PUT", `/documents/${doc.id}/content`, {
    token: s.token,
    body: again,
  })).json();
  assert.deepEqual([put.version, put.status, put.mime_type], [2, "queued", "text/html"]);
  assert.deepEqual(t.ingestion.calls, [
    { creatorId: s.creatorId, documentId: doc.id },
    { creatorId: s.creatorId, documentId: doc.id },
  ]);
  const list = await (await t.call("GET", `/knowledge-bases/${kb.id}/documents?status=queued`, {
    token: s.token,
  })).json();
  assert.equal(list.data.length, 1);
  assert.equal((await t.call("DELETE", `/documents/${doc.id}`, { token: s.token })).status, 204);
  assert.deepEqual(t.deletedDocuments, [doc.id]);
});
