import assert from "node:assert/strict";
import { testApi } from "../../tests/api_harness.ts";

Deno.test("knowledge bases - settings.safety_message is stored, returned, and validated by field", async () => {
  await using t = await testApi();
  const { token } = await t.signup();
  const message = "I'm not able to help with health questions here. Please see your GP.";
  const created = await t.call("POST", "/knowledge-bases", {
    token,
    json: { name: "Running", settings: { safety_message: message, theme: "dark" } },
  });
  assert.equal(created.status, 201);
  const kb = await created.json();
  assert.deepEqual(kb.settings, { safety_message: message, theme: "dark" });
  const read = await (await t.call("GET", `/knowledge-bases/${kb.id}`, { token })).json();
  assert.equal(read.settings.safety_message, message);

  const tooLong = await t.call("PATCH", `/knowledge-bases/${kb.id}`, {
    token,
    json: { settings: { safety_message: "x".repeat(1001) } },
  });
  assert.equal(tooLong.status, 422);
  assert.match(tooLong.headers.get("content-type") ?? "", /^application\/problem\+json/);
  const problem = await tooLong.json();
  assert.deepEqual(problem.errors.map((e: { field: string }) => e.field), [
    "body.settings.safety_message",
  ]);
  const unchanged = await (await t.call("GET", `/knowledge-bases/${kb.id}`, { token })).json();
  assert.equal(unchanged.settings.safety_message, message);
});
