import assert from "node:assert/strict";
import { testApi } from "../tests/api_harness.ts";

Deno.test("pagination - cursor pages stay stable while rows are inserted between requests", async () => {
  await using t = await testApi();
  const { token } = await t.signup();
  const original: string[] = [];
  for (let i = 0; i < 23; i++) {
    const res = await t.call("POST", "/badges", {
      token,
      json: { name: `b${i}`, criteria: `sessions >= ${i}` },
    });
    original.push((await res.json()).id);
  }
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res = await t.call("GET", `/badges?limit=5${cursor ? `&cursor=${cursor}` : ""}`, {
      token,
    });
    assert.equal(res.status, 200);
    const page: { data: Array<{ id: string }>; next_cursor: string | null } = await res.json();
    seen.push(...page.data.map((b) => b.id));
    cursor = page.next_cursor;
    pages++;
    // A newer row appears between pages: it must not shift or repeat what follows.
    await t.call("POST", "/badges", { token, json: { name: "new", criteria: "sessions > 0" } });
  } while (cursor);
  assert.equal(pages, 5);
  assert.equal(new Set(seen).size, seen.length, "a row appeared twice");
  assert.deepEqual(seen, [...original].reverse(), "newest first, every original row exactly once");

  const bad = await t.call("GET", "/badges?cursor=garbage", { token });
  assert.equal(bad.status, 422);
  assert.equal((await bad.json()).errors[0].field, "query.cursor");
});

Deno.test("pagination - filters combine with cursors", async () => {
  await using t = await testApi();
  const { token } = await t.signup();
  const flow = { start: "a", steps: [{ id: "a", type: "message", text: "x" }] };
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) {
    const p = await (await t.call("POST", "/programs", {
      token,
      json: { name: `p${i}`, flow_definition: flow },
    }))
      .json();
    ids.push(p.id);
    if (i % 2 === 0) await t.call("POST", `/programs/${p.id}/publish`, { token });
  }
  const published: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { data: Array<{ id: string; status: string }>; next_cursor: string | null } =
      await (await t.call(
        "GET",
        `/programs?status=published&limit=2${cursor ? `&cursor=${cursor}` : ""}`,
        {
          token,
        },
      )).json();
    assert.ok(page.data.every((p) => p.status === "published"));
    published.push(...page.data.map((p) => p.id));
    cursor = page.next_cursor;
  } while (cursor);
  assert.deepEqual(published, [ids[6], ids[4], ids[2], ids[0]]);
});
