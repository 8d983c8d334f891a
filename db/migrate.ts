import type pg from "pg";

const MIGRATIONS_DIR = new URL("../migrations/", import.meta.url);
// Any fixed number works: it only has to be the same for every node of one database.
const LOCK_KEY = 0x636f6163;

export interface MigrationResult {
  applied: string[];
  skipped: number;
}

/**
 * Applies `migrations/NNNN_name.sql` files in order, each in its own transaction, recording them
 * in `schema_migrations`. Safe when several nodes start at once: a session advisory lock
 * serialises them and the later ones find nothing left to do. Tables land in the connection's
 * `search_path`, which is how tests get a schema each.
 */
export async function migrate(pool: pg.Pool, dir: URL = MIGRATIONS_DIR): Promise<MigrationResult> {
  const files = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && /^\d{4}_[a-z0-9_]+\.sql$/.test(entry.name)) files.push(entry.name);
  }
  files.sort();
  const client = await pool.connect();
  try {
    const { rows: [schema] } = await client.query<{ s: string }>("select current_schema() s");
    // Lock per schema so parallel tests in different schemas do not queue behind each other.
    await client.query("select pg_advisory_lock($1, hashtext($2))", [LOCK_KEY, schema?.s ?? ""]);
    try {
      // Only when missing: a node's own role (no CREATE on the schema) may check for work.
      const { rows: [table] } = await client.query<{ found: boolean }>(
        "select to_regclass('schema_migrations') is not null as found",
      );
      if (!table?.found) {
        await client.query(`create table if not exists schema_migrations (
          name text primary key, applied_at timestamptz not null default now())`);
      }
      const { rows } = await client.query<{ name: string }>("select name from schema_migrations");
      const done = new Set(rows.map((r) => r.name));
      const applied: string[] = [];
      for (const name of files) {
        if (done.has(name)) continue;
        const sql = await Deno.readTextFile(new URL(name, dir));
        await client.query("begin");
        try {
          await client.query(sql);
          await client.query("insert into schema_migrations(name) values ($1)", [name]);
          await client.query("commit");
        } catch (err) {
          await client.query("rollback");
          throw new MigrationError(name, err);
        }
        applied.push(name);
      }
      return { applied, skipped: files.length - applied.length };
    } finally {
      await client.query("select pg_advisory_unlock($1, hashtext($2))", [
        LOCK_KEY,
        schema?.s ?? "",
      ]);
    }
  } finally {
    client.release();
  }
}

export class MigrationError extends Error {
  constructor(readonly file: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    // The node's roles own nothing: migrations are the owner's job.
    const hint = /permission denied|must be owner/.test(why)
      ? " (run migrations as the schema owner: set DATABASE_ADMIN_URL, or `deno task migrate`)"
      : "";
    super(`Migration ${file} failed: ${why}${hint}`, { cause });
    this.name = "MigrationError";
  }
}
