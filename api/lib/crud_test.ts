import assert from "node:assert/strict";
import type { Context } from "hono";
import type pg from "pg";
import { withTenant } from "../../db/tenant.ts";
import type { ApiEnv } from "../env.ts";
import { NotFoundError } from "../errors.ts";
import { type Session, type TestApi, testApi } from "../../tests/api_harness.ts";
import { tenantTable } from "./crud.ts";

interface Row {
  id: string;
  name: string;
  criteria: string;
}
const badges = tenantTable({
  table: "badges",
  type: "badge",
  name: "Badge",
  columns: "id, name, criteria",
  updatable: ["name"],
  toJson: (r: Row) => ({ id: r.id, name: r.name }),
});
const MISSING = "00000000-0000-4000-8000-000000000000";

/** The little of a request context `audit()` reads. */
function contextOf(s: Session): Context<ApiEnv> {
  const vars: Record<string, unknown> = {
    auth: { creatorId: s.creatorId, role: "owner", subject: s.memberId, kind: "jwt" },
    requestId: "req-crud",
  };
  return { get: (key: string) => vars[key] } as unknown as Context<ApiEnv>;
}

async function auditActions(t: TestApi, s: Session): Promise<string[]> {
  return await withTenant(
    t.db.pool,
    s.creatorId,
    async (client) =>
      (await client.query<{ action: string; details: unknown }>(
        "select action, details from audit_log where request_id = 'req-crud' order by created_at, id",
      )).rows.map((r) => `${r.action} ${JSON.stringify(r.details)}`),
  );
}

Deno.test("tenantTable() creates, updates, lists and removes a row, auditing each change", async () => {
  await using t = await testApi();
  const s = await t.signup();
  const c = contextOf(s);
  const inTenant = <T>(fn: (client: pg.PoolClient) => Promise<T>) =>
    withTenant(t.db.pool, s.creatorId, fn);

  const a = await inTenant((client) =>
    badges.create(client, c, {
      values: { name: "a", criteria: "sessions >= 1", criteria_ast: "{}" },
      details: { why: "test" },
    })
  );
  await inTenant((client) =>
    badges.create(client, c, {
      values: { name: "b", criteria: "sessions >= 2", criteria_ast: "{}" },
    })
  );
  const updated = await inTenant((client) =>
    badges.update(client, c, { id: a.id, set: { name: "a2", description: undefined } })
  );
  assert.deepEqual(updated, { id: a.id, name: "a2", criteria: "sessions >= 1" });
  await assert.rejects(
    inTenant((client) => badges.update(client, c, { id: a.id, set: { criteria: "x" } })),
    (err: Error) =>
      err instanceof TypeError && /badges\.criteria is not updatable/.test(err.message),
  );

  const all = await inTenant((client) =>
    badges.list(client, { limit: 10, equal: { name: undefined } })
  );
  assert.deepEqual(all.data.map((b) => b.name), ["b", "a2"]);
  const one = await inTenant((client) => badges.list(client, { limit: 10, equal: { name: "a2" } }));
  assert.deepEqual(one, { data: [{ id: a.id, name: "a2" }], next_cursor: null });

  const removed = await inTenant((client) => badges.remove(client, c, { id: a.id }));
  assert.equal(removed.name, "a2");
  assert.deepEqual(await auditActions(t, s), [
    'badge.create {"why":"test"}',
    "badge.create {}",
    'badge.update {"fields":["name"]}',
    "badge.delete {}",
  ]);
});

Deno.test("tenantTable() find(), update() and remove() throw NotFoundError for another tenant's row", async () => {
  await using t = await testApi();
  const owner = await t.signup();
  const other = await t.signup();
  const { id } = await withTenant(
    t.db.pool,
    owner.creatorId,
    (client) =>
      badges.create(client, contextOf(owner), {
        values: { name: "mine", criteria: "sessions >= 1", criteria_ast: "{}" },
      }),
  );
  const c = contextOf(other);
  for (const missing of [id, MISSING]) {
    for (
      const op of [
        (client: pg.PoolClient): Promise<unknown> => badges.find(client, missing, { lock: true }),
        (client: pg.PoolClient) => badges.mustExist(client, missing),
        (client: pg.PoolClient) => badges.update(client, c, { id: missing, set: { name: "x" } }),
        (client: pg.PoolClient) => badges.remove(client, c, { id: missing }),
      ]
    ) {
      await assert.rejects(
        withTenant(t.db.pool, other.creatorId, op),
        (err: Error) =>
          err instanceof NotFoundError && err.message === `Badge ${missing} does not exist`,
      );
    }
  }
  assert.deepEqual(await auditActions(t, other), []);
  const still = await withTenant(t.db.pool, owner.creatorId, (client) => badges.find(client, id));
  assert.equal(still.name, "mine");
});
