/**
 * Analytics end to end on generated activity: events on the stream, the projection, the REST
 * reports checked against figures worked out by hand (tests/analytics_activity.ts says what
 * happened), the minimum group size, time zones, CSV, tenant isolation, replay, export and
 * erasure.
 */
import assert from "node:assert/strict";
import { testApi } from "./api_harness.ts";
import {
  generateActivity,
  insertDeliveries,
  insertEndUsers,
  publishEvent,
} from "./analytics_activity.ts";
import { jsonLogger } from "../runtime/mod.ts";
import { withTenant } from "../db/tenant.ts";
import {
  Analytics,
  createAnalyticsMetrics,
  REPORTS,
  resetProjection,
  waitForCheckpoint,
} from "../analytics/mod.ts";
import { commitBatch } from "../analytics/projections/runner.ts";

const quiet = jsonLogger("error");
const secretsKey = crypto.getRandomValues(new Uint8Array(32));
const report = (path: string) => REPORTS.find((r) => r.path === path)!;

async function snapshot(pool: import("pg").Pool) {
  const out: Record<string, unknown[]> = {};
  for (
    const t of [
      "analytics_people",
      "analytics_messages",
      "analytics_handoffs",
      "analytics_program_events",
      "analytics_nudges",
      "analytics_badges",
      "analytics_streaks",
    ]
  ) {
    const { rows } = await pool.query(`select * from ${t}`);
    out[t] = rows.map((r) => JSON.stringify(r)).sort();
  }
  return out;
}

Deno.test("analytics - reports match hand-computed figures, per tenant, replayable, erasable", async (tt) => {
  await using t = await testApi({ secretsKey });
  const analytics = new Analytics({ pool: t.db.pool, secretsKey });
  const a = await t.signup();
  const b = await t.signup();
  const pub = { nc: t.nats.nc, prefix: t.nats.prefix };
  const telegram = await insertEndUsers(t.db.pool, a.creatorId, 6);
  const whatsapp = [crypto.randomUUID(), crypto.randomUUID()];
  const act = await generateActivity(pub, a.creatorId, telegram, whatsapp);
  await insertDeliveries(t.db.pool, a.creatorId, telegram);
  for (let i = 0; i < 6; i++) {
    await publishEvent(pub, "conversation.message", {
      creatorId: b.creatorId,
      conversationId: crypto.randomUUID(),
      endUserId: crypto.randomUUID(),
      channel: "web_widget",
      role: "user",
      text: "hello",
      at: Date.parse("2026-11-02T08:00:00Z"),
    });
  }
  // A body the catalog rejects is passed over, not a stuck projection.
  await publishEvent(pub, "badge.awarded", { creatorId: a.creatorId, badgeId: "nope" });
  const metrics = createAnalyticsMetrics({ node: "test" });
  const projection = analytics.project({
    ...pub,
    log: quiet,
    batchSize: 50,
    resetCheckMs: 100,
    metrics,
  });
  try {
    await projection.caughtUp();
    assert.equal(projection.stats.rejected, 1);
    const counted = async (event: string) =>
      (await metrics.business.get()).values.find((v) => v.labels.event === event)?.value;
    assert.equal(await counted("nudge.sent"), 6);
    assert.equal(await counted("program.completed"), 5);
    const rejected = (await metrics.events.get()).values.find((v) =>
      v.labels.outcome === "rejected"
    );
    assert.equal(rejected?.value, 1);

    const get = async (path: string, query: string, token = a.token) => {
      const res = await t.call("GET", `/analytics/${path}?${query}`, { token });
      assert.equal(res.status, 200, await res.clone().text());
      return (await res.json()).data as Record<string, unknown>[];
    };
    const range = "from=2026-11-01&to=2026-11-02";

    await tt.step("engagement by day in UTC, whatsapp suppressed (2 people < 5)", async () => {
      assert.deepEqual(await get("engagement", range), [
        {
          period: "2026-11-02",
          channel: "all",
          users: 8,
          messages: 17,
          sessions: 11,
          messages_per_user: 2.125,
          suppressed: false,
        },
        {
          period: "2026-11-02",
          channel: "telegram",
          users: 6,
          messages: 15,
          sessions: 9,
          messages_per_user: 2.5,
          suppressed: false,
        },
        {
          period: "2026-11-02",
          channel: "whatsapp",
          users: null,
          messages: null,
          sessions: null,
          messages_per_user: null,
          suppressed: true,
        },
      ]);
    });

    await tt.step("engagement in New York moves the WhatsApp messages to 11-01", async () => {
      const rows = await get("engagement", `${range}&tz=America/New_York`);
      assert.deepEqual(rows.map((r) => [r.period, r.channel, r.users, r.messages, r.suppressed]), [
        ["2026-11-01", "all", null, null, true],
        ["2026-11-01", "whatsapp", null, null, true],
        ["2026-11-02", "all", 6, 15, false],
        ["2026-11-02", "telegram", 6, 15, false],
      ]);
    });

    await tt.step("engagement by week counts the next week's returns", async () => {
      const rows = await get("engagement", "from=2026-11-02&to=2026-11-15&granularity=week");
      const all = rows.filter((r) => r.channel === "all").map((r) => [r.period, r.users]);
      assert.deepEqual(all, [["2026-11-02", 8], ["2026-11-09", 5]]);
    });

    await tt.step("retention: weekly cohort triangle", async () => {
      assert.deepEqual(await get("retention", "from=2026-11-01&to=2026-11-15"), [
        { cohort: "2026-11-02", week: 0, users: 8, active: 8, rate: 1, suppressed: false },
        { cohort: "2026-11-02", week: 1, users: 8, active: 5, rate: 0.625, suppressed: false },
      ]);
    });

    await tt.step("program funnel with drop-off and median time per step", async () => {
      const p = act.programId;
      assert.deepEqual(await get("programs", "from=2026-11-01&to=2026-11-08"), [
        {
          program_id: p,
          stage: "enrolled",
          step_index: null,
          step_id: null,
          users: 6,
          drop_off: null,
          median_seconds: null,
          suppressed: false,
        },
        {
          program_id: p,
          stage: "step",
          step_index: 1,
          step_id: "intro",
          users: 6,
          drop_off: 0,
          median_seconds: 12600,
          suppressed: false,
        },
        {
          program_id: p,
          stage: "step",
          step_index: 2,
          step_id: "practice",
          users: 5,
          drop_off: 1,
          median_seconds: 7200,
          suppressed: false,
        },
        {
          program_id: p,
          stage: "completed",
          step_index: null,
          step_id: null,
          users: 5,
          drop_off: 0,
          median_seconds: 3600,
          suppressed: false,
        },
      ]);
    });

    await tt.step("nudges: replies within 24 h by trigger and hour, opt-outs", async () => {
      const row = {
        trigger: "inactivity",
        users: 6,
        sent: 6,
        replied_24h: 4,
        reply_rate: 0.6667,
        opted_out: 1,
        suppressed: false,
      };
      assert.deepEqual(await get("nudges", "from=2026-11-01&to=2026-11-08"), [
        { ...row, hour: null },
        { ...row, hour: 9 },
      ]);
      const inBerlin = await get("nudges", "from=2026-11-01&to=2026-11-08&tz=Europe/Berlin");
      assert.deepEqual(inBerlin.map((r) => r.hour), [null, 10]);
    });

    await tt.step("nudges skipped by reason", async () => {
      const rows = await get("nudges/skipped", "from=2026-11-01&to=2026-11-08");
      assert.deepEqual(rows.map((r) => [r.reason, r.trigger, r.users, r.skipped]), [
        ["cap_daily", "all", null, null],
        ["cap_daily", "inactivity", null, null],
        ["quiet_hours", "all", 6, 6],
        ["quiet_hours", "streak_at_risk", 6, 6],
      ]);
    });

    await tt.step("answer quality and unanswered topics", async () => {
      assert.deepEqual(await get("answers", "from=2026-11-02&to=2026-11-02"), [
        {
          period: "2026-11-02",
          users: 8,
          questions: 17,
          answers: 6,
          refused: 5,
          refusal_rate: 0.8333,
          handoffs: 1,
          handoff_rate: 0.0588,
          suppressed: false,
        },
      ]);
      assert.deepEqual(await get("answers/unanswered", range), [
        { topic: "splint", users: 5, questions: 5, suppressed: false },
      ]);
    });

    await tt.step("delivery health, failures and WhatsApp pricing", async () => {
      const rows = await get("deliveries", range);
      assert.deepEqual(rows.map((r) => [r.channel, r.status, r.users, r.deliveries]), [
        ["telegram", "delivered", 6, 6],
        ["whatsapp", "failed", 5, 5],
        ["whatsapp", "read", 6, 6],
      ]);
      assert.deepEqual(await get("deliveries/failures", range), [
        {
          channel: "whatsapp",
          status: "failed",
          reason: "window_closed",
          users: 5,
          deliveries: 5,
          suppressed: false,
        },
      ]);
      assert.deepEqual(await get("deliveries/whatsapp-cost", range), [
        { pricing_category: "utility", users: 6, messages: 6, billable: 6, suppressed: false },
      ]);
    });

    await tt.step("badges and streaks", async () => {
      const badges = await get("badges", "from=2026-11-01&to=2026-11-08");
      assert.deepEqual(
        badges.map((r) => [r.badge_id, r.users, r.awarded]),
        [
          [act.badgeId, 6, 6],
          [act.otherBadgeId, null, null],
        ].sort((x, y) => (x[1] === null ? 1 : 0) - (y[1] === null ? 1 : 0)),
      );
      const streaks = await get("streaks", "from=2026-11-01&to=2026-11-08");
      assert.deepEqual(streaks.map((r) => [r.streak, r.min_days, r.users, r.suppressed]), [
        ["2-3", 2, 6, false],
        ["8-14", 8, null, true],
      ]);
    });

    await tt.step("CSV by format=csv and by Accept", async () => {
      const res = await t.call("GET", `/analytics/engagement?${range}&format=csv`, {
        token: a.token,
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type")!, /^text\/csv/);
      assert.equal(
        await res.text(),
        "period,channel,users,messages,sessions,messages_per_user,suppressed\r\n" +
          "2026-11-02,all,8,17,11,2.125,false\r\n" +
          "2026-11-02,telegram,6,15,9,2.5,false\r\n" +
          "2026-11-02,whatsapp,,,,,true\r\n",
      );
      const byAccept = await t.call("GET", `/analytics/answers/unanswered?${range}`, {
        token: a.token,
        headers: { accept: "text/csv" },
      });
      assert.equal(
        await byAccept.text(),
        "topic,users,questions,suppressed\r\nsplint,5,5,false\r\n",
      );
    });

    await tt.step("bad parameters are a 422 naming the field", async () => {
      for (
        const [query, field] of [
          ["tz=Mars/Olympus", "query.tz"],
          ["from=2026-11-05&to=2026-11-01", "query.from"],
          ["granularity=hour", "query.granularity"],
          ["from=2026-13-01", "query.from"],
        ]
      ) {
        const res = await t.call("GET", `/analytics/engagement?${query}`, { token: a.token });
        assert.equal(res.status, 422, String(query));
        const body = await res.json();
        assert.ok(
          body.errors.some((e: { field: string }) => e.field === field),
          JSON.stringify(body),
        );
      }
    });

    await tt.step("a creator sees only their own numbers (code and RLS)", async () => {
      const rows = await get("engagement", range, b.token);
      assert.deepEqual(rows.map((r) => [r.channel, r.users, r.messages]), [
        ["all", 6, 6],
        ["web_widget", 6, 6],
      ]);
      assert.deepEqual(await get("deliveries", range, b.token), []);
      // Even a query that names creator A, run as B, sees nothing: row-level security.
      const leaked = await withTenant(
        t.db.pool,
        b.creatorId,
        (c) =>
          report("engagement").run(c, {
            creatorId: a.creatorId,
            from: "2026-11-01",
            to: "2026-11-02",
            tz: "UTC",
            granularity: "day",
          }),
      );
      assert.deepEqual(leaked, []);
      const res = await t.call("GET", `/analytics/engagement?${range}`);
      assert.equal(res.status, 401);
    });

    await tt.step("no message text and no end user id in analytics tables", async () => {
      const all = JSON.stringify(await snapshot(t.db.pool));
      for (const id of [...telegram, ...whatsapp]) assert.ok(!all.includes(id), id);
      // (A one-word message is its own topic word; the sentences must not appear.)
      const sentences = new Set(act.texts.filter((x) => x.includes(" ")));
      for (const text of sentences) assert.ok(!all.includes(text), text);
    });

    await tt.step("an event applied again under its id changes nothing", async () => {
      const before = await snapshot(t.db.pool);
      const { rows: [m] } = await t.db.pool.query<{ event_id: string }>(
        "select event_id from analytics_messages limit 1",
      );
      const out = await commitBatch(t.db.pool, analytics.pseudonyms, [{
        id: m!.event_id,
        seq: 1_000_000,
        subject: "conversation.message",
        body: {
          creatorId: a.creatorId,
          conversationId: crypto.randomUUID(),
          endUserId: telegram[0],
          channel: "telegram",
          role: "user",
          text: "again",
          at: Date.now(),
        },
      }]);
      assert.equal(out.duplicates, 1);
      assert.deepEqual(await snapshot(t.db.pool), before);
    });

    await tt.step("replayed from the stream twice, the tables are the same", async () => {
      const first = await snapshot(t.db.pool);
      for (let i = 0; i < 2; i++) {
        await resetProjection(t.db.pool);
        assert.ok((await waitForCheckpoint(t.db.pool, t.nats.nc, t.nats.prefix)) > 0);
        assert.deepEqual(await snapshot(t.db.pool), first);
      }
    });

    await tt.step("export and erasure of one end user cover analytics", async () => {
      const who = telegram[0]!;
      const exp = await t.call("GET", `/analytics/end-users/${who}/export`, { token: a.token });
      assert.equal(exp.status, 200);
      const body = await exp.json();
      // Five messages of t0 and the answer to the first.
      assert.equal(body.tables.analytics_messages.length, 6);
      assert.equal(body.tables.analytics_program_events.length, 4);
      assert.ok(!JSON.stringify(body).includes("shin splints"));
      // Erasing the end user through the admin API erases their analytics.
      const del = await t.call("DELETE", `/end-users/${who}`, { token: a.token });
      assert.equal(del.status, 204, await del.clone().text());
      const after = await analytics.exportPerson(a.creatorId, who);
      assert.equal(after.analytics_messages.length, 0);
      assert.equal(after.analytics_people.length, 0);
      const gone = await t.call("GET", `/analytics/end-users/${who}/export`, { token: a.token });
      assert.equal(gone.status, 404);
      // A replay does not bring them back.
      await resetProjection(t.db.pool);
      await waitForCheckpoint(t.db.pool, t.nats.nc, t.nats.prefix);
      const again = await analytics.exportPerson(a.creatorId, who);
      assert.equal(again.analytics_messages.length, 0);
      assert.equal(again.analytics_program_events.length, 0);
      const rows = await get("retention", "from=2026-11-01&to=2026-11-15");
      assert.deepEqual(rows.map((r) => r.users), [7, 7]);
    });
  } finally {
    await projection.stop();
  }
});
