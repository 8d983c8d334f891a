/**
 * Tenant isolation in the database itself, over every table that has a creator_id column (read
 * from the catalog, so a new table cannot be forgotten): row-level security is on, and a raw
 * query under creator A's setting never sees or writes creator B's rows.
 */
import assert from "node:assert/strict";
import { withSystem, withTenant } from "../db/tenant.ts";
import { seedEndUser, testApi } from "../tests/api_harness.ts";

Deno.test("tenant isolation - every creator_id table has RLS and A's setting never sees B's rows", async () => {
  await using t = await testApi();
  const a = await t.signup();
  const b = await t.signup();
  // Fill every table for both creators through the API and the channels' inserts.
  for (const s of [a, b]) {
    const kb =
      await (await t.call("POST", "/knowledge-bases", { token: s.token, json: { name: "kb" } }))
        .json();
    const form = new FormData();
    form.append("file", new File(["hello"], "a.txt", { type: "text/plain" }));
    const doc = await (await t.call("POST", `/knowledge-bases/${kb.id}/documents`, {
      token: s.token,
      body: form,
    })).json();
    const badge = await (await t.call("POST", "/badges", {
      token: s.token,
      json: { name: "b", criteria: "sessions > 0" },
    })).json();
    const program = await (await t.call("POST", "/programs", {
      token: s.token,
      json: {
        name: "p",
        flow_definition: { start: "a", steps: [{ id: "a", type: "message", text: "x" }] },
      },
    })).json();
    await t.call("POST", `/programs/${program.id}/publish`, { token: s.token });
    await t.call("POST", "/channels", {
      token: s.token,
      json: { kind: "web_widget", name: "w", allowed_origins: ["https://example.com"] },
    });
    await t.apiKey(s, "viewer");
    await t.call("POST", "/knowledge-bases", {
      token: s.token,
      json: { name: "idem" },
      headers: { "idempotency-key": "k1" },
    });
    const u = await seedEndUser(t, s.creatorId);
    await withSystem(t.db.pool, async (c) => {
      await c.query(
        `insert into program_progress (creator_id, end_user_id, program_id, program_version)
         values ($1, $2, $3, 1)`,
        [s.creatorId, u.endUserId, program.id],
      );
      await c.query(
        "insert into user_badges (creator_id, end_user_id, badge_id) values ($1, $2, $3)",
        [s.creatorId, u.endUserId, badge.id],
      );
      // What the channels write: identities, receipts of provider message ids, deliveries.
      await c.query(
        `insert into channel_identities (creator_id, end_user_id, channel, external_id)
         values ($1, $2, 'telegram', $3)`,
        [s.creatorId, u.endUserId, `tg-${s.creatorId}`],
      );
      await c.query(
        `insert into inbound_receipts (creator_id, connection_id, external_message_id)
         values ($1, gen_random_uuid(), 'm1')`,
        [s.creatorId],
      );
      await c.query(
        `insert into deliveries (id, creator_id, end_user_id, channel, purpose, content, status)
         values ($1, $2, $3, 'telegram', 'answer', '{}', 'queued')`,
        [crypto.randomUUID(), s.creatorId, u.endUserId],
      );
      // What the app backend writes: tokens, devices, link codes and tries.
      const { rows: [identity] } = await c.query<{ id: string }>(
        "select id from channel_identities where creator_id = $1 and end_user_id = $2 limit 1",
        [s.creatorId, u.endUserId],
      );
      await c.query(
        `insert into end_user_tokens (creator_id, end_user_id, identity_id, origin, access_sha256,
           access_expires_at, refresh_sha256, refresh_expires_at)
         values ($1, $2, $3, 'device', gen_random_uuid()::text, now(), gen_random_uuid()::text,
           now())`,
        [s.creatorId, u.endUserId, identity!.id],
      );
      await c.query(
        `insert into push_tokens (creator_id, end_user_id, provider, token_sha256, token_iv,
           token_ciphertext) values ($1, $2, 'fcm', gen_random_uuid()::text, '\\x00', '\\x00')`,
        [s.creatorId, u.endUserId],
      );
      await c.query(
        `insert into link_codes (creator_id, end_user_id, code_sha256, expires_at)
         values ($1, $2, gen_random_uuid()::text, now())`,
        [s.creatorId, u.endUserId],
      );
      await c.query(
        `insert into link_attempts (creator_id, channel, external_id, window_start, count)
         values ($1, 'telegram', 'x', 0, 1)`,
        [s.creatorId],
      );
      // The real-time log of widget and app sockets.
      await c.query(
        `insert into realtime_cursors (creator_id, end_user_id, last_seq) values ($1, $2, 1)`,
        [s.creatorId, u.endUserId],
      );
      await c.query(
        `insert into realtime_messages (creator_id, end_user_id, seq, key, role, body)
         values ($1, $2, 1, 'k1', 'user', '{"text":"hi"}')`,
        [s.creatorId, u.endUserId],
      );
      // What the proactive coach records of its attempts.
      await c.query(
        `insert into nudges (id, creator_id, end_user_id, trigger, status, at)
         values (gen_random_uuid(), $1, $2, 'inactivity', 'skipped', now())`,
        [s.creatorId, u.endUserId],
      );
      // What the analytics projection writes (pseudonymous ids, no text).
      const pid = `p-${s.creatorId}`;
      for (
        const [table, cols, values] of [
          ["analytics_keys", "iv, sealed", "'\\x00', '\\x00'"],
          ["analytics_erased", "pid", `'${pid}x'`],
          [
            "analytics_people",
            "pid, first_seen_at, last_seen_at, first_channel",
            `'${pid}', now(), now(), 'telegram'`,
          ],
          [
            "analytics_messages",
            "event_id, pid, channel, role, at",
            `gen_random_uuid()::text, '${pid}', 'telegram', 'user', now()`,
          ],
          [
            "analytics_handoffs",
            "event_id, pid, channel, status, at",
            `gen_random_uuid()::text, '${pid}', 'telegram', 'handoff', now()`,
          ],
          [
            "analytics_program_events",
            "event_id, pid, program_id, kind, at",
            `gen_random_uuid()::text, '${pid}', gen_random_uuid(), 'enrolled', now()`,
          ],
          [
            "analytics_nudges",
            "nudge_id, pid, trigger, status, at",
            `'n1', '${pid}', 'inactivity', 'sent', now()`,
          ],
          [
            "analytics_badges",
            "event_id, pid, badge_id, at",
            `gen_random_uuid()::text, '${pid}', gen_random_uuid(), now()`,
          ],
          ["analytics_streaks", "pid, streak_days, longest_days, at", `'${pid}', 1, 1, now()`],
          [
            "analytics_subscriptions",
            "event_id, plan, status, at",
            "gen_random_uuid()::text, 'pro', 'active', now()",
          ],
          [
            "analytics_webhooks",
            "event_id, provider, kind, verified, at",
            "gen_random_uuid()::text, 'stripe', 'invoice.paid', true, now()",
          ],
        ]
      ) {
        await c.query(`insert into ${table} (creator_id, ${cols}) values ($1, ${values})`, [
          s.creatorId,
        ]);
      }
      // What ingestion writes (the queue is not running in this test).
      await c.query(
        `insert into knowledge_chunks (id, creator_id, knowledge_base_id, document_id, ordinal,
           text, start_offset, end_offset) values ($1, $2, $3, $4, 0, 'hello', 0, 5)`,
        [`${doc.id}:0`, s.creatorId, kb.id, doc.id],
      );
      // What billing, e-mail and outbound webhooks write.
      await c.query(
        `with b as (insert into creator_billing (creator_id, stripe_customer_id) values ($1, $2)),
           e as (insert into stripe_events (id, type, creator_id) values ($2, 'x', $1)),
           u as (insert into usage_monthly (creator_id, month, messages) values ($1, '2026-01-01', 1)),
           h as (insert into plan_limit_hits (creator_id, limit_name, month, plan, usage, limit_value)
                 values ($1, 'channels', '2026-01-01', 'free', 1, 1)),
           m as (insert into email_log (creator_id, template, locale, recipient, provider, status)
                 values ($1, 'weekly_digest', 'en', 'a@example.test', 'smtp', 'sent')),
           r as (insert into password_resets (creator_id, member_id, token_sha256, expires_at)
                 values ($1, $3, $2, now() + interval '1 hour')),
           w as (insert into webhook_endpoints (id, creator_id, url, event_types, secret_iv,
                   secret_ciphertext) values ($4, $1, 'https://hooks.example/', '{badge.earned}',
                   '\\x00', '\\x00'))
         insert into webhook_deliveries (creator_id, endpoint_id, message_id, event_id, event_type,
           payload) values ($1, $4, 'msg_1', 'e1', 'badge.earned', '{}')`,
        [s.creatorId, `cus_${s.creatorId}`, s.memberId, crypto.randomUUID()],
      );
      await c.query(
        `insert into ga4_settings (creator_id, measurement_id, secret_iv, secret_ciphertext)
         values ($1, 'G-TEST', '\\x00', '\\x00')`,
        [s.creatorId],
      );
      // What the OAuth authorization server writes.
      await c.query(
        `with cl as (insert into oauth_clients (creator_id, name, redirect_uris, secret_sha256)
                     values ($1, 'app', '{https://app.example/cb}', $2) returning id),
           co as (insert into oauth_codes (code_sha256, client_id, creator_id, member_id,
                    redirect_uri, scope, code_challenge, code_challenge_method, expires_at)
                  select $2, id, $1, $3, 'https://app.example/cb', '{read}', 'x', 'S256', now()
                  from cl)
         insert into oauth_tokens (client_id, creator_id, member_id, access_sha256, scope,
           access_expires_at) select id, $1, $3, $2, '{read}', now() from cl`,
        [s.creatorId, `h_${s.creatorId}`, s.memberId],
      );
    });
  }

  const tables = await withSystem(
    t.db.pool,
    async (c) =>
      (await c.query<{ table_name: string; rls: boolean; policies: number }>(
        `select cl.relname table_name, cl.relrowsecurity rls,
         (select count(*)::int from pg_policies p where p.schemaname = n.nspname
            and p.tablename = cl.relname) policies
       from pg_class cl join pg_namespace n on n.oid = cl.relnamespace
       where n.nspname = current_schema() and cl.relkind = 'r'
         and exists (select 1 from information_schema.columns col
                     where col.table_schema = n.nspname and col.table_name = cl.relname
                       and col.column_name = 'creator_id')
       order by 1`,
      )).rows,
  );
  assert.ok(tables.length >= 19, `found ${tables.length} tenant tables`);
  for (const table of tables) {
    assert.ok(table.rls && table.policies > 0, `${table.table_name} lacks row-level security`);
    const counts = await withSystem(
      t.db.pool,
      async (c) =>
        (await c.query<{ creator_id: string; n: number }>(
          `select creator_id, count(*)::int n from ${table.table_name} group by 1`,
        )).rows,
    );
    assert.ok(
      counts.some((r) => r.creator_id === b.creatorId),
      `${table.table_name} has no row of creator B to hide`,
    );
    // The raw query has no filter: only the policy stands between A and B's rows.
    const seen = await withTenant(
      t.db.pool,
      a.creatorId,
      async (c) =>
        (await c.query<{ creator_id: string }>(`select creator_id from ${table.table_name}`)).rows,
    );
    assert.ok(seen.length > 0, `${table.table_name}: A sees none of its own rows`);
    assert.ok(
      seen.every((r) => r.creator_id === a.creatorId),
      `${table.table_name}: A sees another creator's rows`,
    );
    const updated = await withTenant(
      t.db.pool,
      a.creatorId,
      async (c) =>
        (await c.query(
          `update ${table.table_name} set creator_id = creator_id where creator_id = $1`,
          [
            b.creatorId,
          ],
        )).rowCount,
    );
    assert.equal(updated, 0, `${table.table_name}: A updated B's rows`);
  }
  const creators = await withTenant(
    t.db.pool,
    a.creatorId,
    async (c) => (await c.query<{ id: string }>("select id from creators")).rows.map((r) => r.id),
  );
  assert.deepEqual(creators, [a.creatorId]);
  // Writing a row for B while acting as A is refused by the policy's check.
  await assert.rejects(
    withTenant(
      t.db.pool,
      a.creatorId,
      (c) =>
        c.query(
          "insert into badges (creator_id, name, criteria, criteria_ast) values ($1, 'x', 'sessions > 1', '{}')",
          [
            b.creatorId,
          ],
        ),
    ),
    /row-level security/,
  );
  // A child row cannot point at another tenant's parent: the (creator_id, id) foreign keys.
  const bKb = await withSystem(
    t.db.pool,
    async (c) =>
      (await c.query("select id from knowledge_bases where creator_id = $1 limit 1", [b.creatorId]))
        .rows[0]!.id,
  );
  await assert.rejects(
    withTenant(t.db.pool, a.creatorId, (c) =>
      c.query(
        "insert into programs (creator_id, name, flow_definition, knowledge_base_id) values ($1, 'x', '{}', $2)",
        [a.creatorId, bKb],
      )),
    /foreign key/,
  );
});
