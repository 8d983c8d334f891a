import assert from "node:assert/strict";
import { testApi } from "../tests/api_harness.ts";

async function problemOf(res: Response) {
  assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/);
  const body = await res.json();
  assert.equal(body.status, res.status);
  for (const key of ["type", "title", "detail", "instance"]) {
    assert.equal(typeof body[key], "string");
  }
  return body as {
    status: number;
    title: string;
    errors?: Array<{ field: string; message: string }>;
  };
}
const fields = (p: { errors?: Array<{ field: string }> }) => (p.errors ?? []).map((e) => e.field);

Deno.test("validation - malformed JSON, wrong types and unknown fields are problem+json naming the field", async () => {
  await using t = await testApi();
  const { token } = await t.signup();
  const malformed = await t.call("POST", "/knowledge-bases", {
    token,
    body: '{"name": ',
    headers: { "content-type": "application/json" },
  });
  assert.equal(malformed.status, 400);
  assert.deepEqual(fields(await problemOf(malformed)), ["body"]);

  const wrong = await t.call("POST", "/knowledge-bases", {
    token,
    json: { name: 42, colour: "red" },
  });
  assert.equal(wrong.status, 422);
  assert.deepEqual(fields(await problemOf(wrong)).sort(), ["body.colour", "body.name"]);

  const badQuery = await t.call("GET", "/knowledge-bases?limit=1000", { token });
  assert.equal(badQuery.status, 422);
  assert.deepEqual(fields(await problemOf(badQuery)), ["query.limit"]);

  const badId = await t.call("GET", "/knowledge-bases/not-a-uuid", { token });
  assert.equal(badId.status, 422);
  assert.deepEqual(fields(await problemOf(badId)), ["path.knowledgeBaseId"]);

  const textBody = await t.call("POST", "/knowledge-bases", {
    token,
    body: "name=x",
    headers: { "content-type": "text/plain" },
  });
  assert.equal(textBody.status, 415);
  await problemOf(textBody);

  const nowhere = await t.call("GET", "/no-such-thing", { token });
  assert.equal(nowhere.status, 404);
  await problemOf(nowhere);
});

Deno.test("validation - flow definitions and badge criteria name the failing step or position", async () => {
  await using t = await testApi();
  const { token } = await t.signup();
  const flow = {
    start: "intro",
    steps: [
      { id: "intro", type: "message", text: "Hi", next: "ask" },
      { id: "ask", type: "question", text: "Goal?", variable: "goal", next: "nowhere" },
      { id: "ask", type: "wait", hours: -1 },
      {
        id: "b",
        type: "branch",
        cases: [{ when: { variable: "goal", op: "eq", value: "x" }, next: "zz" }],
        otherwise: "intro",
      },
    ],
  };
  const res = await t.call("POST", "/programs", {
    token,
    json: { name: "P", flow_definition: flow },
  });
  assert.equal(res.status, 422);
  assert.deepEqual(fields(await problemOf(res)).sort(), [
    "body.flow_definition.steps.1.next",
    "body.flow_definition.steps.2.hours",
    "body.flow_definition.steps.2.id",
    "body.flow_definition.steps.3.cases.0.next",
  ]);
  const unknownType = await t.call("POST", "/programs", {
    token,
    json: { name: "P", flow_definition: { start: "a", steps: [{ id: "a", type: "teleport" }] } },
  });
  assert.deepEqual(fields(await problemOf(unknownType)), ["body.flow_definition.steps.0.type"]);

  const badge = await t.call("POST", "/badges", {
    token,
    json: { name: "x", criteria: "streak_days >= " },
  });
  assert.equal(badge.status, 422);
  const p = await problemOf(badge);
  assert.deepEqual(fields(p), ["body.criteria"]);
  assert.match(p.errors![0]!.message, /Expected a number at character 16/);

  // Publishing a flow that awards a badge that does not exist is refused.
  const ghost = crypto.randomUUID();
  const created = await (await t.call("POST", "/programs", {
    token,
    json: {
      name: "P",
      flow_definition: { start: "a", steps: [{ id: "a", type: "award_badge", badge_id: ghost }] },
    },
  })).json();
  const publish = await t.call("POST", `/programs/${created.id}/publish`, { token });
  assert.equal(publish.status, 422);
  assert.match((await problemOf(publish)).errors![0]!.message, new RegExp(ghost));
});

Deno.test("validation - uploads over the limit are 413 and unsupported types 422, naming body.file", async () => {
  await using t = await testApi({ maxUploadBytes: 1024 });
  const { token } = await t.signup();
  const kb = await (await t.call("POST", "/knowledge-bases", { token, json: { name: "kb" } }))
    .json();
  const upload = (file: File) => {
    const form = new FormData();
    form.append("file", file);
    return t.call("POST", `/knowledge-bases/${kb.id}/documents`, { token, body: form });
  };
  const big = await upload(new File(["x".repeat(2000)], "big.txt", { type: "text/plain" }));
  assert.equal(big.status, 413);
  assert.deepEqual(fields(await problemOf(big)), ["body.file"]);
  // Far over the limit: rejected by the body limit before the form is parsed.
  const huge = await upload(new File(["x".repeat(200_000)], "huge.txt", { type: "text/plain" }));
  assert.equal(huge.status, 413);
  assert.deepEqual(fields(await problemOf(huge)), ["body.file"]);

  const exe = await upload(new File(["MZ"], "tool.exe", { type: "application/octet-stream" }));
  assert.equal(exe.status, 422);
  assert.deepEqual(fields(await problemOf(exe)), ["body.file"]);
  const fakePdf = await upload(new File(["not a pdf"], "x.pdf", { type: "application/pdf" }));
  assert.equal(fakePdf.status, 422);

  const noFile = new FormData();
  noFile.append("title", "t");
  const missing = await t.call("POST", `/knowledge-bases/${kb.id}/documents`, {
    token,
    body: noFile,
  });
  assert.equal(missing.status, 422);
  assert.deepEqual(fields(await problemOf(missing)), ["body.file"]);
  const count = await t.db.pool.query("select count(*)::int n from documents");
  assert.equal(count.rows[0].n, 0);
});
