import assert from "node:assert/strict";
import { testDb } from "../tests/harness.ts";
import { migrate, MigrationError } from "./migrate.ts";

Deno.test("migrate() run by several nodes at once applies each file exactly once", async () => {
  await using db = await testDb({ migrateIt: false, max: 6 });
  const results = await Promise.all([migrate(db.pool), migrate(db.pool), migrate(db.pool)]);
  const applied = results.flatMap((r) => r.applied);
  const files = [...Deno.readDirSync(new URL("../migrations/", import.meta.url))]
    .filter((e) => e.name.endsWith(".sql"));
  assert.equal(applied.length, files.length);
  assert.equal(new Set(applied).size, files.length);
  const { rows } = await db.pool.query("select count(*)::int n from schema_migrations");
  assert.equal(rows[0].n, files.length);
  assert.deepEqual((await migrate(db.pool)).applied, []);
});

Deno.test("migrate() stops at a failing file with MigrationError naming it, and rolls it back", async () => {
  await using db = await testDb({ migrateIt: false });
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/0001_ok.sql`, "create table ok_table (id int);");
  await Deno.writeTextFile(`${dir}/0002_bad.sql`, "create table half (id int); select nope();");
  await assert.rejects(
    () => migrate(db.pool, new URL(`file://${dir}/`)),
    (err: Error) =>
      err instanceof MigrationError && /0002_bad\.sql failed: .*nope/.test(err.message),
  );
  const { rows } = await db.pool.query(
    "select to_regclass('ok_table') is not null as ok, to_regclass('half') is not null as half",
  );
  assert.deepEqual(rows[0], { ok: true, half: false });
  await Deno.remove(dir, { recursive: true });
});
