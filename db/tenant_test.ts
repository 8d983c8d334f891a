import assert from "node:assert/strict";
import { testDb } from "../tests/harness.ts";
import { withSystem, withTenant } from "./tenant.ts";

Deno.test("withTenant() sees only its creator's rows, even in a query without a filter", async () => {
  await using db = await testDb();
  const [a, b] = await withSystem(db.pool, async (c) => {
    const { rows } = await c.query<{ id: string }>(
      "insert into creators (email) values ('a@x.test'), ('b@x.test') returning id",
    );
    for (const r of rows) {
      await c.query("insert into knowledge_bases (creator_id, name) values ($1, $2)", [
        r.id,
        `kb of ${r.id}`,
      ]);
    }
    return rows.map((r) => r.id);
  });
  const seen = await withTenant(
    db.pool,
    a!,
    async (c) => (await c.query("select creator_id from knowledge_bases")).rows,
  );
  assert.deepEqual(seen.map((r) => r.creator_id), [a]);
  await assert.rejects(
    () =>
      withTenant(
        db.pool,
        a!,
        (c) => c.query("insert into knowledge_bases (creator_id, name) values ($1, 'x')", [b]),
      ),
    /row-level security/,
  );
});
