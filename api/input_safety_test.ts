/** Inputs that used to reach Postgres and come back as 500s: NUL bytes and forged cursors. */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { seedEndUser, testApi } from "../tests/api_harness.ts";

async function fieldsOf(res: Response): Promise<string[]> {
  assert.match(res.headers.get("content-type") ?? "", /problem\+json/);
  return ((await res.json()).errors ?? []).map((e: { field: string }) => e.field);
}

Deno.test("validation - a NUL byte in a body field, a nested key, a query value or a form field is a 422 naming it", async () => {
  await using t = await testApi();
  const { token } = await t.signup();
  const kb = await (await t.call("POST", "/knowledge-bases", { token, json: { name: "kb" } }))
    .json();
  const cases: Array<[string, Promise<Response>, string]> = [
    [
      "body",
      t.call("POST", "/badges", {
        token,
        json: { name: "nul\u0000", criteria: "sessions >= 1" },
      }),
      "body.name",
    ],
    [
      "nested key",
      t.call("PATCH", `/knowledge-bases/${kb.id}`, {
        token,
        json: { settings: { "a\u0000b": 1 } },
      }),
      "body.settings.a?b",
    ],
    [
      "nested value",
      t.call("POST", "/knowledge-bases", {
        token,
        json: { name: "x", settings: { deep: ["ok", "bad\u0000"] } },
      }),
      "body.settings.deep.1",
    ],
    [
      "lone surrogate",
      t.call("POST", "/knowledge-bases", {
        token,
        json: { name: "x", description: "half \ud800 a pair" },
      }),
      "body.description",
    ],
    ["query", t.call("GET", "/knowledge-bases?q=%00", { token }), "query.q"],
    ["query of a search", t.call("GET", "/messages/search?q=a%00b", { token }), "query.q"],
    ["audit filter", t.call("GET", "/audit-log?action=x%00", { token }), "query.action"],
  ];
  const form = new FormData();
  form.append("file", new File(["# hi\n"], "notes.md", { type: "text/markdown" }));
  form.append("title", "t\u0000");
  cases.push([
    "form",
    t.call("POST", `/knowledge-bases/${kb.id}/documents`, { token, body: form }),
    "body.title",
  ]);
  for (const [what, response, field] of cases) {
    const res = await response;
    assert.equal(res.status, 422, what);
    assert.deepEqual(await fieldsOf(res), [field], what);
  }
  const stored = await t.db.pool.query("select count(*)::int n from badges");
  assert.equal(stored.rows[0].n, 0);
});

const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

Deno.test("pagination - a forged cursor is a 422 naming query.cursor on every list", async () => {
  await using t = await testApi();
  const s = await t.signup();
  const kb = await (await t.call("POST", "/knowledge-bases", {
    token: s.token,
    json: { name: "kb" },
  })).json();
  const { conversationId } = await seedEndUser(t, s.creatorId);
  const ids: Record<string, string> = { knowledgeBaseId: kb.id, conversationId };
  const doc = await (await t.call("GET", "/openapi.json")).json();
  const lists: string[] = [];
  for (
    const [path, item] of Object.entries<Record<string, { parameters?: { name: string }[] }>>(
      doc.paths,
    )
  ) {
    if (item.get?.parameters?.some((p) => p.name === "cursor")) lists.push(path);
  }
  assert.ok(lists.length >= 10, `only ${lists.length} lists`);
  const id = crypto.randomUUID();
  const forged = [
    cursorOf({ t: "not a time", id }),
    cursorOf({ t: "2026-13-45 99:00:00+00", id }),
    cursorOf({ t: "2026-02-31 10:00:00+00", id }),
    cursorOf({ t: "2026-01-01 10:00:00+00", id: "not-a-uuid" }),
    cursorOf({ t: 5, id }),
    "garbage",
  ];
  const query = (path: string) => path === "/messages/search" ? "q=hello&" : "";
  for (const path of lists) {
    const url = path.replace(/{(\w+)}/g, (_, p: string) => ids[p]!);
    for (const cursor of forged) {
      const res = await t.call("GET", `${url}?${query(path)}cursor=${cursor}`, { token: s.token });
      assert.equal(res.status, 422, `${path} with ${cursor}`);
      assert.deepEqual(await fieldsOf(res), ["query.cursor"], path);
    }
    // A cursor the API issued still pages.
    const real = cursorOf({ t: "2026-01-01 10:00:00.123456+00", id });
    const ok = await t.call("GET", `${url}?${query(path)}cursor=${real}`, { token: s.token });
    assert.equal(ok.status, 200, path);
    await ok.body?.cancel();
  }
});
