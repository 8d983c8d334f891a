import assert from "node:assert/strict";
import type pg from "pg";
import { migrate, MigrationError } from "../../db/migrate.ts";
import { testDb } from "../../tests/harness.ts";
import { seedCreator } from "../../tests/knowledge_seed.ts";
import { ANSWER_FORMATS, answerFormat, Channel, ConversationChannel } from "./channel.ts";

const MIGRATIONS = new URL("../../migrations/", import.meta.url);

/** The values a check constraint allows, as Postgres prints it back. */
async function allowed(pool: pg.Pool, constraint: string): Promise<string[]> {
  const { rows } = await pool.query<{ def: string }>(
    `select pg_get_constraintdef(oid) def from pg_constraint
     where conname = $1 and connamespace = current_schema()::regnamespace`,
    [constraint],
  );
  assert.equal(rows.length, 1, `constraint ${constraint}`);
  return [...rows[0]!.def.matchAll(/'([^']+)'/g)].map((m) => m[1]!).sort();
}

/** Migrates the pool's schema up to and including the migration file `last`. */
async function migratedUpTo(pool: pg.Pool, last: string): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    for await (const e of Deno.readDir(MIGRATIONS)) {
      if (e.name.endsWith(".sql") && e.name <= last) {
        await Deno.copyFile(new URL(e.name, MIGRATIONS), `${dir}/${e.name}`);
      }
    }
    await migrate(pool, new URL(`file://${dir}/`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("Channel - the database allows exactly the channel vocabulary", async () => {
  await using db = await testDb();
  const channels = [...Channel.options].sort();
  assert.deepEqual(channels, ["mobile_app", "telegram", "web_widget", "whatsapp"]);
  assert.deepEqual(await allowed(db.pool, "end_users_channel"), channels);
  assert.deepEqual(await allowed(db.pool, "channel_connections_kind"), channels);
  assert.deepEqual(
    await allowed(db.pool, "conversations_channel"),
    [...ConversationChannel.options].sort(),
  );
  assert.deepEqual(Object.keys(ANSWER_FORMATS).sort(), [...ConversationChannel.options].sort());
  // Channels without Markdown get plain text; a caller's copy cannot change the table.
  assert.deepEqual(answerFormat("telegram"), { maxChars: 1000, markdown: false });
  answerFormat("whatsapp").maxChars = 1;
  assert.equal(ANSWER_FORMATS.whatsapp.maxChars, 900);
});

Deno.test("migration 0102 renames channels stored under the earlier names; it stops at one it cannot map", async () => {
  await using db = await testDb({ migrateIt: false });
  await migratedUpTo(db.pool, "0101_coaching_model.sql");
  const creatorId = await seedCreator(db.pool);
  const user = async (channel: string) =>
    (await db.pool.query<{ id: string }>(
      `insert into end_users (creator_id, channel, external_id) values ($1, $2, $3) returning id`,
      [creatorId, channel, crypto.randomUUID()],
    )).rows[0]!.id;
  const mobile = await user("mobile");
  const widget = await user("web_widget");
  for (const channel of ["web", "app", "telegram"]) {
    await db.pool.query(
      "insert into conversations (creator_id, end_user_id, channel) values ($1, $2, $3)",
      [creatorId, widget, channel],
    );
  }
  // Conversation actors keep the channel of their last message in their state.
  const state = (id: string, channel: string | null) =>
    db.pool.query(
      `insert into rt_actor_state (actor_type, actor_id, partition, version, state)
       values ('conversation', $1, 0, 1, $2)`,
      [id, { userId: "u", channel, turns: [], turnCount: 0 }],
    );
  await state("c:web", "web");
  await state("c:sms", "sms");
  await state("c:tg", "telegram");
  await state("c:new", null);
  const applied = await migrate(db.pool);
  assert.ok(applied.applied.includes("0102_channel_vocabulary.sql"));
  const { rows: users } = await db.pool.query(
    "select id, channel from end_users order by channel",
  );
  assert.deepEqual(users, [
    { id: mobile, channel: "mobile_app" },
    { id: widget, channel: "web_widget" },
  ]);
  const { rows: convs } = await db.pool.query(
    "select channel from conversations order by channel",
  );
  assert.deepEqual(convs.map((r) => r.channel), ["mobile_app", "telegram", "web_widget"]);
  const { rows: states } = await db.pool.query(
    "select actor_id, state->'channel' channel from rt_actor_state order by actor_id",
  );
  assert.deepEqual(states.map((r) => [r.actor_id, r.channel]), [
    ["c:new", null],
    ["c:sms", null],
    ["c:tg", "telegram"],
    ["c:web", "web_widget"],
  ]);
  await assert.rejects(
    () =>
      db.pool.query(
        "insert into conversations (creator_id, end_user_id, channel) values ($1, $2, 'sms')",
        [creatorId, widget],
      ),
    /violates check constraint "conversations_channel"/,
  );

  // A value with no channel to map it to stops the migration (rolled back) rather than guessing.
  await using other = await testDb({ migrateIt: false });
  await migratedUpTo(other.pool, "0101_coaching_model.sql");
  const otherCreator = await seedCreator(other.pool);
  await other.pool.query(
    `insert into end_users (creator_id, channel, external_id) values ($1, 'sms', '+15550001')`,
    [otherCreator],
  );
  await assert.rejects(
    () => migrate(other.pool),
    (err: Error) =>
      err instanceof MigrationError && err.file === "0102_channel_vocabulary.sql" &&
      /check constraint "end_users_channel" .* violated by some row/.test(err.message),
  );
  const { rows: left } = await other.pool.query("select channel from end_users");
  assert.deepEqual(left, [{ channel: "sms" }]);
});
