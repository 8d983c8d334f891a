import assert from "node:assert/strict";
import { jsonLogger } from "../runtime/mod.ts";
import { testApi } from "../tests/api_harness.ts";

Deno.test("audit log - changes are recorded with who, what and the request id, filterable", async () => {
  const lines: Array<Record<string, unknown>> = [];
  await using t = await testApi({
    log: jsonLogger("info", {}, (line) => lines.push(JSON.parse(line))),
  });
  const s = await t.signup();
  const res = await t.call("POST", "/badges", {
    token: s.token,
    json: { name: "Early bird", criteria: "sessions >= 1" },
    headers: { "x-request-id": "req-badge-1" },
  });
  assert.equal(res.headers.get("x-request-id"), "req-badge-1");
  const badge = await res.json();
  await t.call("PATCH", `/badges/${badge.id}`, { token: s.token, json: { name: "Earlier bird" } });
  await t.call("DELETE", `/badges/${badge.id}`, { token: s.token });

  const all = await (await t.call("GET", "/audit-log?resource_type=badge", { token: s.token }))
    .json();
  assert.deepEqual(all.data.map((e: { action: string }) => e.action), [
    "badge.delete",
    "badge.update",
    "badge.create",
  ]);
  const created = all.data[2];
  assert.deepEqual(
    [created.actor_kind, created.actor_subject, created.resource_id, created.request_id],
    ["jwt", s.memberId, badge.id, "req-badge-1"],
  );
  assert.deepEqual(all.data[1].details, { fields: ["name"] });
  const one = await (await t.call("GET", "/audit-log?action=creator.signup", { token: s.token }))
    .json();
  assert.equal(one.data.length, 1);

  // One structured line per request, carrying the same id.
  const line = lines.find((l) => l.request_id === "req-badge-1");
  assert.deepEqual(
    [line?.msg, line?.method, line?.path, line?.status, line?.creator_id],
    ["http request", "POST", "/v1/badges", 201, s.creatorId],
  );
  assert.equal(typeof line?.ms, "number");
});
