import type pg from "pg";
import { SYSTEM_ROLE, TENANT_ROLE } from "./pools.ts";

/**
 * Gives the node's roles (`coachd_system`, `coachd_app`) LOGIN, and the password of the URL the
 * node will use for each, so a deployment sets them in one place: its URLs. Run by the schema
 * owner after the migrations (which create the roles). A URL for another role is left alone.
 */
export async function provisionLoginRoles(
  admin: pg.Pool | pg.Client,
  urls: (string | undefined)[],
): Promise<string[]> {
  const done: string[] = [];
  for (const raw of urls) {
    if (!raw) continue;
    const url = new URL(raw);
    const role = decodeURIComponent(url.username);
    if (role !== SYSTEM_ROLE && role !== TENANT_ROLE) continue;
    const password = decodeURIComponent(url.password);
    if (password) {
      const literal = escapeLiteral(password);
      await admin.query(`alter role ${role} with login password ${literal}`);
    } else {
      // No password (trust or peer authentication): only LOGIN, and only when missing, since
      // roles are cluster-wide and parallel test schemas would otherwise update one row at once.
      const { rows } = await admin.query<{ rolcanlogin: boolean }>(
        "select rolcanlogin from pg_roles where rolname = $1",
        [role],
      );
      if (rows[0] && !rows[0].rolcanlogin) await admin.query(`alter role ${role} with login`);
    }
    done.push(role);
  }
  return done;
}

function escapeLiteral(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
