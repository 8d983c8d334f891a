import assert from "node:assert/strict";
import { testApi } from "../tests/api_harness.ts";

Deno.test("idempotency - a retried POST with the same key returns the stored response and creates one row", async () => {
  await using t = await testApi();
  const { token } = await t.signup();
  const send = (json: unknown, key = "create-kb-1") =>
    t.call("POST", "/knowledge-bases", { token, json, headers: { "idempotency-key": key } });
  const first = await send({ name: "Nutrition" });
  assert.equal(first.status, 201);
  const created = await first.json();
  const retry = await send({ name: "Nutrition" });
  assert.equal(retry.status, 201);
  assert.equal(retry.headers.get("idempotent-replayed"), "true");
  assert.equal(retry.headers.get("location"), `/v1/knowledge-bases/${created.id}`);
  assert.deepEqual(await retry.json(), created);

  const other = await send({ name: "Sleep" });
  assert.equal(other.status, 422);
  assert.equal((await other.json()).errors[0].field, "header.idempotency-key");

  const { rows } = await t.db.pool.query("select name from knowledge_bases");
  assert.deepEqual(rows, [{ name: "Nutrition" }]);

  // Without a key every POST is new; keys are per creator, so B may reuse A's key.
  await t.call("POST", "/knowledge-bases", { token, json: { name: "Nutrition" } });
  const b = await t.signup();
  const bRes = await t.call("POST", "/knowledge-bases", {
    token: b.token,
    json: { name: "Nutrition" },
    headers: { "idempotency-key": "create-kb-1" },
  });
  assert.equal(bRes.status, 201);
  assert.equal(bRes.headers.get("idempotent-replayed"), null);
  assert.equal((await t.db.pool.query("select count(*)::int n from knowledge_bases")).rows[0].n, 3);
});

Deno.test("idempotency - concurrent retries run the request once", async () => {
  await using t = await testApi();
  const { token } = await t.signup();
  const results = await Promise.all(
    Array.from({ length: 6 }, () =>
      t.call("POST", "/badges", {
        token,
        json: { name: "Streak", criteria: "streak_days >= 3" },
        headers: { "idempotency-key": "badge-1" },
      })),
  );
  const statuses = results.map((r) => r.status).sort();
  // One ran; the others were replayed (201) or told it is still running (409).
  assert.ok(statuses.every((s) => s === 201 || s === 409), String(statuses));
  assert.ok(statuses.includes(201));
  assert.equal((await t.db.pool.query("select count(*)::int n from badges")).rows[0].n, 1);
  for (const r of results) await r.body?.cancel();
});

Deno.test("idempotency - a server error is not stored, so the retry with the same key runs", async () => {
  let fail = true;
  await using t = await testApi({
    actors: {
      // The actor message is written in the request's transaction: if that write fails, so does
      // the whole change.
      tellWithin: () =>
        fail
          ? Promise.reject(new Error("outbox write failed"))
          : Promise.resolve({ id: "m", subject: "s", partition: 0, payload: new Uint8Array() }),
      publishOutbox: () => Promise.resolve(),
    },
  });
  const { token } = await t.signup();
  const send = () =>
    t.call("POST", "/channels", {
      token,
      json: { kind: "web_widget", name: "site", allowed_origins: ["https://example.com"] },
      headers: { "idempotency-key": "connect-1" },
    });
  // Telling the creator actor fails inside the transaction: nothing is stored, the key is freed.
  const failed = await send();
  assert.equal(failed.status, 500);
  await failed.body?.cancel();
  assert.equal(
    (await t.db.pool.query("select count(*)::int n from channel_connections")).rows[0].n,
    0,
  );
  fail = false;
  const ok = await send();
  assert.equal(ok.status, 201);
  assert.equal(ok.headers.get("idempotent-replayed"), null);
  await ok.body?.cancel();
  const replay = await send();
  assert.equal(replay.headers.get("idempotent-replayed"), "true");
  await replay.body?.cancel();
  assert.equal(
    (await t.db.pool.query("select count(*)::int n from channel_connections")).rows[0].n,
    1,
  );
});

Deno.test("documents - an upload whose ingestion queue is down is stored as failed and can be reingested", async () => {
  let fail = true;
  const queued: string[] = [];
  await using t = await testApi({
    ingestion: {
      enqueue: (_c, id) =>
        fail ? Promise.reject(new Error("queue down")) : Promise.resolve(void queued.push(id)),
    },
  });
  const { token } = await t.signup();
  const kb = await (await t.call("POST", "/knowledge-bases", { token, json: { name: "kb" } }))
    .json();
  const form = new FormData();
  form.append("file", new File(["hello"], "a.txt", { type: "text/plain" }));
  const res = await t.call("POST", `/knowledge-bases/${kb.id}/documents`, {
    token,
    body: form,
    headers: { "idempotency-key": "upload-1" },
  });
  assert.equal(res.status, 202);
  const doc = await res.json();
  assert.equal(doc.status, "failed");
  assert.match(doc.error, /queue down/);
  fail = false;
  const again = await t.call("POST", `/documents/${doc.id}/reingest`, { token });
  assert.equal(again.status, 202);
  assert.equal((await again.json()).status, "queued");
  assert.deepEqual(queued, [doc.id]);
  assert.equal((await t.db.pool.query("select count(*)::int n from documents")).rows[0].n, 1);
});
