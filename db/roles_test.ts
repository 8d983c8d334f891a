import assert from "node:assert/strict";
import pg from "pg";
import { DATABASE_URL, testDb, urlWithSchema } from "../tests/harness.ts";
import { NodePool, SYSTEM_ROLE, TENANT_ROLE } from "./pools.ts";
import { provisionLoginRoles } from "./roles.ts";
import { withSystem, withTenant } from "./tenant.ts";
import { migrate } from "./migrate.ts";

/** The test schema's URL for `role` (the machine's Postgres trusts loopback: no password). */
function urlAs(role: string, schema: string): string {
  const url = new URL(DATABASE_URL);
  url.username = role;
  url.password = "";
  return urlWithSchema(schema, url.toString());
}

async function twoTenants(pool: pg.Pool): Promise<[string, string]> {
  return await withSystem(pool, async (c) => {
    const { rows } = await c.query<{ id: string }>(
      "insert into creators (email) values ('a@x.test'), ('b@x.test') returning id",
    );
    for (const r of rows) {
      await c.query("insert into knowledge_bases (creator_id, name) values ($1, 'kb')", [r.id]);
    }
    await c.query(
      "insert into rt_actor_state (actor_type, actor_id, partition, version, state) values ('user', 'u', 0, 1, '{}')",
    );
    return [rows[0]!.id, rows[1]!.id];
  });
}

Deno.test("coachd_app (the tenant role) cannot read another tenant's rows with raw SQL, nor reset role out of row-level security", async () => {
  await using db = await testDb();
  const [a, b] = await twoTenants(db.pool);
  await provisionLoginRoles(db.pool, [urlAs(TENANT_ROLE, db.schema)]);
  const client = new pg.Client({ connectionString: urlAs(TENANT_ROLE, db.schema) });
  await client.connect();
  const creatorsSeen = async () =>
    (await client.query<{ creator_id: string }>("select creator_id from knowledge_bases")).rows
      .map((r) => r.creator_id);
  try {
    // No tenant set: nothing at all, though two creators have rows.
    assert.deepEqual(await creatorsSeen(), []);
    await client.query("begin");
    await client.query("select set_config('app.creator_id', $1, true)", [a]);
    assert.deepEqual(await creatorsSeen(), [a]);
    // Out of the role switch: the session itself is coachd_app, so nothing changes.
    await client.query("reset role");
    assert.deepEqual(await creatorsSeen(), [a]);
    await client.query("commit");
    for (const escape of ["set role coachd_system", "set role postgres", "set role coachd"]) {
      await assert.rejects(() => client.query(escape), /permission denied|does not exist/, escape);
    }
    await assert.rejects(
      () => client.query("alter table knowledge_bases disable row level security"),
      /must be owner/,
    );
    await client.query("set row_security = off");
    await assert.rejects(() => creatorsSeen(), /row-level security/);
    await client.query("reset row_security");
    // Writing another tenant's rows is refused as well, and the runtime's tables are closed.
    await client.query("begin");
    await client.query("select set_config('app.creator_id', $1, true)", [a]);
    const { rowCount } = await client.query("update knowledge_bases set name = 'x'");
    assert.equal(rowCount, 1);
    await assert.rejects(
      () => client.query("insert into knowledge_bases (creator_id, name) values ($1, 'x')", [b]),
      /row-level security/,
    );
    await client.query("rollback");
    await assert.rejects(() => client.query("select * from rt_actor_state"), /permission denied/);
    await assert.rejects(() => client.query("create table mine (x int)"), /permission denied/);
  } finally {
    await client.end();
  }
});

Deno.test("NodePool - withTenant() logs in as coachd_app and withSystem() as coachd_system, roles that own nothing", async () => {
  await using db = await testDb();
  const [a] = await twoTenants(db.pool);
  const system = urlAs(SYSTEM_ROLE, db.schema);
  const tenant = urlAs(TENANT_ROLE, db.schema);
  assert.deepEqual(await provisionLoginRoles(db.pool, [system, tenant]), [
    SYSTEM_ROLE,
    TENANT_ROLE,
  ]);
  const pool = new NodePool({
    system: { connectionString: system, max: 2 },
    tenant: { connectionString: tenant, max: 2 },
  });
  try {
    const inTenant = await withTenant(pool, a, async (c) => {
      const who = (await c.query("select session_user::text s")).rows[0].s;
      const kbs = (await c.query("select count(*)::int n from knowledge_bases")).rows[0].n;
      return { who, kbs };
    });
    assert.deepEqual(inTenant, { who: TENANT_ROLE, kbs: 1 });
    // The system role works before and across tenants (login, workers): it sees both.
    const inSystem = await withSystem(pool, async (c) => {
      const who = (await c.query("select session_user::text s")).rows[0].s;
      const kbs = (await c.query("select count(*)::int n from knowledge_bases")).rows[0].n;
      return { who, kbs };
    });
    assert.deepEqual(inSystem, { who: SYSTEM_ROLE, kbs: 2 });
    // A node without the owner's URL checks for migrations and finds none to do.
    assert.deepEqual((await migrate(pool)).applied, []);
    await assert.rejects(() => pool.query("drop table knowledge_bases"), /must be owner/);
    await assert.rejects(
      () => pool.query("insert into schema_migrations (name) values ('9999_fake.sql')"),
      /permission denied/,
    );
    const { rows } = await db.pool.query(
      `select r.rolname, r.rolsuper, r.rolbypassrls, r.rolcanlogin,
              (select count(*)::int from pg_class c where c.relowner = r.oid) as owns
       from pg_roles r where r.rolname in ($1, $2) order by r.rolname`,
      [TENANT_ROLE, SYSTEM_ROLE],
    );
    assert.deepEqual(rows, [
      { rolname: TENANT_ROLE, rolsuper: false, rolbypassrls: false, rolcanlogin: true, owns: 0 },
      { rolname: SYSTEM_ROLE, rolsuper: false, rolbypassrls: true, rolcanlogin: true, owns: 0 },
    ]);
  } finally {
    await pool.end();
  }
});

Deno.test("migrations - every tenant table has row-level security, forced for its owner too", async () => {
  await using db = await testDb();
  const { rows } = await db.pool.query<{ relname: string; rls: boolean; forced: boolean }>(
    `select c.relname, c.relrowsecurity rls, c.relforcerowsecurity forced
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = $1 and c.relkind = 'r'
       and (c.relrowsecurity or exists (select 1 from pg_attribute a
            where a.attrelid = c.oid and a.attname = 'creator_id' and not a.attisdropped))
     order by 1`,
    [db.schema],
  );
  assert.ok(rows.length >= 20, `only ${rows.length} tenant tables`);
  const weak = rows.filter((r) => !r.rls || !r.forced).map((r) => r.relname);
  assert.deepEqual(weak, [], `tables without forced row-level security: ${weak.join(", ")}`);
});
