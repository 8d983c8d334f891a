/**
 * One end user's analytics rows: exported for a GDPR access request, deleted on erasure. The
 * erased pseudonym is remembered so replaying the events stream does not bring the rows back.
 */
import type pg from "pg";
import { withSystem } from "../../db/tenant.ts";
import type { Pseudonyms } from "./pseudonyms.ts";

/** The tables holding rows about one person, by pseudonym. */
export const PERSON_TABLES = [
  "analytics_people",
  "analytics_messages",
  "analytics_handoffs",
  "analytics_program_events",
  "analytics_nudges",
  "analytics_badges",
  "analytics_streaks",
] as const;

export type PersonExport =
  & { pseudonym: string }
  & Record<
    typeof PERSON_TABLES[number],
    Record<string, unknown>[]
  >;

/** Every analytics row about `endUserId` (no message text is ever among them). */
export async function exportPerson(
  pool: pg.Pool,
  pseudonyms: Pseudonyms,
  creatorId: string,
  endUserId: string,
): Promise<PersonExport> {
  const pid = await pseudonyms.of(creatorId, endUserId);
  return await withSystem(pool, async (c) => {
    const out = { pseudonym: pid } as PersonExport;
    for (const t of PERSON_TABLES) {
      const { rows } = await c.query(
        `select * from ${t} where creator_id = $1 and pid = $2 order by 1`,
        [creatorId, pid],
      );
      out[t] = rows.map(({ creator_id: _c, pid: _p, ...rest }) => rest);
    }
    return out;
  });
}

/** Deletes every analytics row about `endUserId`; returns how many rows went. */
export async function erasePerson(
  pool: pg.Pool,
  pseudonyms: Pseudonyms,
  creatorId: string,
  endUserId: string,
): Promise<number> {
  const pid = await pseudonyms.of(creatorId, endUserId);
  return await withSystem(pool, async (c) => {
    // The projection's position row: a batch in flight commits before or after, never around.
    await c.query(
      "insert into analytics_checkpoints (projection) values ('analytics') on conflict do nothing",
    );
    await c.query("select 1 from analytics_checkpoints where projection = 'analytics' for update");
    await c.query(
      `insert into analytics_erased (creator_id, pid) values ($1, $2) on conflict do nothing`,
      [creatorId, pid],
    );
    let removed = 0;
    for (const t of PERSON_TABLES) {
      const r = await c.query(`delete from ${t} where creator_id = $1 and pid = $2`, [
        creatorId,
        pid,
      ]);
      removed += r.rowCount ?? 0;
    }
    return removed;
  });
}
