// deno-lint-ignore-file no-console -- entry point: prints the figures
/**
 * Analytics benchmark (`deno task bench analytics`), on a scratch schema and stream prefix
 * (dropped after):
 *
 * 1. Projection throughput: `--events` events (in batches of `--batch`) (70% conversation messages, the rest program,
 *    nudge, badge and streak events, from 20 creators) published on the events stream, then one
 *    projection started from an empty position; events/s until it has committed them all.
 * 2. Dashboard queries over `--interactions` interactions (10 million by default) generated with
 *    generate_series: 200 creators, 180 days, 2,000 people each, with nudges, program events,
 *    handoffs and deliveries beside them; every report for a random creator over the default
 *    30 days (and the weekly engagement and retention over 90 days), run as the tenant (row-level
 *    security on), `--runs` times each; p50 / p99 per report.
 *
 *   deno task bench analytics [--events=100000] [--interactions=10000000] [--runs=40]
 */
import { parseArgs } from "node:util";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { testDb, testNats } from "../tests/harness.ts";
import { jsonLogger } from "../runtime/mod.ts";
import { Analytics, type ReportQuery, REPORTS } from "../analytics/mod.ts";
import { machineInfo } from "./procfs.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    events: { type: "string", default: "100000" },
    interactions: { type: "string", default: "10000000" },
    runs: { type: "string", default: "40" },
    batch: { type: "string", default: "2000" },
    "skip-queries": { type: "boolean", default: false },
  },
});
const EVENTS = Number(values.events);
const INTERACTIONS = Number(values.interactions);
const RUNS = Number(values.runs);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const secretsKey = crypto.getRandomValues(new Uint8Array(32));

async function projectionThroughput() {
  await using db = await testDb({ max: 8 });
  await using nats = await testNats();
  const jsm = await jetstreamManager(nats.nc);
  await jsm.streams.add({ name: `${nats.prefix}_events`, subjects: [`${nats.prefix}.evt.>`] });
  const creators: string[] = [];
  for (let i = 0; i < 20; i++) {
    const { rows: [c] } = await db.pool.query<{ id: string }>(
      "insert into creators (email) values ($1) returning id",
      [`bench-${i}@example.test`],
    );
    creators.push(c!.id);
  }
  const people = creators.map(() => Array.from({ length: 500 }, () => crypto.randomUUID()));
  const js = jetstream(nats.nc);
  const t0 = Date.parse("2026-10-01T00:00:00Z");
  const publishStarted = performance.now();
  let inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const c = i % creators.length;
    const creatorId = creators[c]!;
    const endUserId = people[c]![(i * 7) % 500]!;
    const at = t0 + i * 1000;
    const kind = i % 10;
    const [subject, body] = kind < 7
      ? ["conversation.message", {
        creatorId,
        conversationId: endUserId,
        endUserId,
        channel: "telegram",
        role: kind % 2 ? "assistant" : "user",
        text: "How do I keep a streak going when I travel?",
        at,
        messageId: `m${i}`,
        ...(kind % 2 ? { replyTo: `m${i - 1}`, metadata: { refused: kind === 3 } } : {}),
      }]
      : kind === 7
      ? ["nudge.sent", {
        creatorId,
        endUserId,
        nudgeId: crypto.randomUUID(),
        trigger: "inactivity",
        channel: "telegram",
        identityId: endUserId,
        kind: "text",
        deliveryId: crypto.randomUUID(),
        localHour: 9,
        usualHour: 9,
        at,
      }]
      : kind === 8
      ? ["program.step", {
        creatorId,
        endUserId,
        programId: creatorId,
        version: 1,
        seq: i % 5,
        stepId: `s${i % 5}`,
        stepType: "message",
        outcome: "sent",
        at,
      }]
      : ["badge.check", { creatorId, endUserId, metrics: { streak_days: i % 20 }, awarded: [] }];
    inFlight.push(
      js.publish(`${nats.prefix}.evt.${subject}`, JSON.stringify(body), { msgID: `e${i}` }),
    );
    if (inFlight.length >= 2000) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
  const publishSeconds = (performance.now() - publishStarted) / 1000;
  const analytics = new Analytics({ pool: db.pool, secretsKey });
  const started = performance.now();
  await using projection = analytics.project({
    nc: nats.nc,
    prefix: nats.prefix,
    log: jsonLogger("error"),
    batchSize: Number(values.batch),
  });
  await projection.caughtUp();
  const seconds = (performance.now() - started) / 1000;
  const { rows: [n] } = await db.pool.query<{ n: string }>(
    "select count(*) n from analytics_messages",
  );
  return {
    events: EVENTS,
    publishSeconds,
    seconds,
    perSecond: EVENTS / seconds,
    messages: Number(n!.n),
    batches: projection.stats.batches,
    commitSeconds: projection.stats.commitMs / 1000,
  };
}

async function dashboardQueries() {
  await using db = await testDb({ max: 8 });
  const pool = db.pool;
  const creatorsN = 200;
  const peoplePer = 2000;
  const started = performance.now();
  await pool.query(
    `insert into creators (email) select 'bench-' || g || '@example.test'
       from generate_series(1, ${creatorsN}) g`,
  );
  const { rows: cs } = await pool.query<{ id: string }>("select id from creators order by id");
  const creatorIds = cs.map((r) => r.id);
  // Bulk load without the secondary indexes, then build them once.
  const { rows: indexes } = await pool.query<{ indexdef: string; indexname: string }>(
    `select indexname, indexdef from pg_indexes
      where schemaname = current_schema() and tablename like 'analytics_%'
        and indexname not like '%_pkey'`,
  );
  for (const i of indexes) await pool.query(`drop index ${i.indexname}`);
  await pool.query("set maintenance_work_mem = '512MB'");
  const c = `(select array_agg(id order by id) from creators)`;
  const chunk = 1_000_000;
  for (let from = 0; from < INTERACTIONS; from += chunk) {
    const to = Math.min(INTERACTIONS, from + chunk) - 1;
    // Person p of creator k; a user message, then the coach's answer; 180 days back from
    // 2026-12-01, denser lately.
    await pool.query(
      `insert into analytics_messages (event_id, creator_id, pid, channel, role, at, topic,
                                       unanswered, refused)
       select 'b' || g, (${c})[1 + (g % ${creatorsN})],
              'p' || ((g / ${creatorsN}) % ${peoplePer}),
              (array['telegram','whatsapp','web_widget','mobile_app'])[1 + (g / ${creatorsN}) % 4],
              case when (g / ${creatorsN}) % 2 = 0 then 'user' else 'assistant' end,
              timestamptz '2026-12-01' - (power(random(), 1.5) * interval '180 days'),
              case when (g / ${creatorsN}) % 2 = 0
                   then (array['sleep','splint','protein','stretch','travel'])[1 + g % 5] end,
              (g / ${creatorsN}) % 2 = 0 and g % 13 = 0, (g / ${creatorsN}) % 2 = 1 and g % 13 = 1
         from generate_series(${from}, ${to}) g`,
    );
    console.error(`  ${to + 1} interactions`);
  }
  await pool.query(
    `insert into analytics_people (creator_id, pid, first_seen_at, last_seen_at, first_channel)
     select creator_id, pid, min(at), max(at), min(channel) from analytics_messages
      where role = 'user' group by creator_id, pid`,
  );
  await pool.query(
    `insert into analytics_nudges (creator_id, nudge_id, pid, trigger, status, reason, at, outcome,
                                   outcome_at)
     select (${c})[1 + (g % ${creatorsN})], 'n' || g, 'p' || ((g / ${creatorsN}) % ${peoplePer}),
            (array['inactivity','streak_at_risk','program_step_due'])[1 + (g / ${creatorsN}) % 3],
            case when (g / ${creatorsN}) % 4 = 0 then 'skipped' else 'sent' end,
            case when (g / ${creatorsN}) % 4 = 0 then 'quiet_hours' end, at,
            case when (g / ${creatorsN}) % 3 = 1 then 'replied' end,
            at + interval '2 hours'
       from (select g, timestamptz '2026-12-01' - random() * interval '180 days' as at
               from generate_series(1, ${INTERACTIONS / 20}) g) s`,
  );
  await pool.query(
    `insert into analytics_program_events (event_id, creator_id, pid, program_id, kind, step_id,
                                           step_index, at)
     select 'pe' || g, (${c})[1 + (g % ${creatorsN})], 'p' || ((g / ${creatorsN}) % ${peoplePer}),
            '00000000-0000-4000-8000-000000000001',
            case when (g / ${creatorsN}) % 6 = 0 then 'enrolled'
                 when (g / ${creatorsN}) % 6 = 5 then 'completed' else 'step' end,
            's' || ((g / ${creatorsN}) % 6), (g / ${creatorsN}) % 6 - 1,
            timestamptz '2026-12-01' - random() * interval '180 days'
       from generate_series(1, ${INTERACTIONS / 20}) g`,
  );
  await pool.query(
    `insert into analytics_handoffs (event_id, creator_id, pid, channel, status, at)
     select 'h' || g, (${c})[1 + (g % ${creatorsN})], 'p' || (g % ${peoplePer}), 'telegram',
            'handoff', timestamptz '2026-12-01' - random() * interval '180 days'
       from generate_series(1, ${INTERACTIONS / 100}) g`,
  );
  await pool.query(
    `insert into deliveries (id, creator_id, channel, purpose, content, status, reason,
                             pricing_category, billable, queued_at)
     select gen_random_uuid(), (${c})[1 + (g % ${creatorsN})],
            case when (g / ${creatorsN}) % 3 = 0 then 'whatsapp' else 'telegram' end, 'answer', '{}',
            (array['delivered','read','failed','sent'])[1 + (g / ${creatorsN}) % 4],
            case when (g / ${creatorsN}) % 4 = 2 then 'window_closed' end,
            case when (g / ${creatorsN}) % 3 = 0 then 'utility' end, (g / ${creatorsN}) % 3 = 0,
            timestamptz '2026-12-01' - random() * interval '180 days'
       from generate_series(1, ${INTERACTIONS / 10}) g`,
  );
  for (const i of indexes) await pool.query(i.indexdef);
  // What autovacuum does soon after a load: statistics and the visibility map (index-only scans).
  await pool.query("vacuum analyze");
  const loadSeconds = (performance.now() - started) / 1000;

  const analytics = new Analytics({ pool, secretsKey });
  const rows: Array<{ report: string; p50: number; p99: number; rows: number }> = [];
  const cases: Array<{ name: string; q: Omit<ReportQuery, "creatorId">; path: string }> = [
    ...REPORTS.map((r) => ({
      name: r.path,
      path: r.path,
      q: { from: "2026-11-02", to: "2026-12-01", tz: "Europe/Berlin", granularity: "day" as const },
    })),
    {
      name: "engagement (90 days, weekly)",
      path: "engagement",
      q: { from: "2026-09-02", to: "2026-12-01", tz: "Europe/Berlin", granularity: "week" },
    },
    {
      name: "retention (180 days, every cohort)",
      path: "retention",
      q: { from: "2026-06-04", to: "2026-12-01", tz: "Europe/Berlin", granularity: "week" },
    },
  ];
  for (const k of cases) {
    const report = REPORTS.find((r) => r.path === k.path)!;
    const times: number[] = [];
    let n = 0;
    for (let i = 0; i < RUNS; i++) {
      const creatorId = creatorIds[(i * 37) % creatorIds.length]!;
      const t0 = performance.now();
      n = (await analytics.report(report, { ...k.q, creatorId })).length;
      times.push(performance.now() - t0);
    }
    rows.push({ report: k.name, p50: pct(times, 50), p99: pct(times, 99), rows: n });
  }
  return { loadSeconds, rows };
}

console.log(`machine: ${JSON.stringify(await machineInfo())}`);
const p = await projectionThroughput();
console.log(
  `projection: ${p.events} events (published in ${p.publishSeconds.toFixed(1)} s) applied in ` +
    `${p.seconds.toFixed(2)} s = ${Math.round(p.perSecond)} events/s ` +
    `(${p.batches} batches, ${p.commitSeconds.toFixed(2)} s of it committing, ` +
    `${p.messages} message rows)`,
);
if (!values["skip-queries"]) {
  const q = await dashboardQueries();
  console.log(
    `generated ${INTERACTIONS} interactions and the rest in ${q.loadSeconds.toFixed(0)} s`,
  );
  console.log("| report | p50 ms | p99 ms | rows |\n| --- | --- | --- | --- |");
  for (const r of q.rows) {
    console.log(`| ${r.report} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.rows} |`);
  }
}
