/**
 * The reports of the analytics dashboard. Times are bucketed in the query's time zone; days run
 * from `from` to `to` inclusive. "Users" are distinct pseudonymous people.
 */
import type pg from "pg";
import {
  type Column,
  RANGE,
  rangeParams,
  type Report,
  type ReportQuery,
  type Row,
} from "./report.ts";

const { from: FROM, to: TO } = RANGE;

async function rows(client: pg.PoolClient, sql: string, params: unknown[]): Promise<Row[]> {
  return (await client.query<Row>(sql, params)).rows;
}

const col = (
  name: string,
  type: Column["type"],
  description: string,
  key = false,
): Column => ({ name, type, description, key });

const period = col("period", "string", "First day of the period (YYYY-MM-DD, in tz)", true);

export const engagement: Report = {
  path: "engagement",
  field: "engagement",
  title: "Engagement",
  description: "Active users (who wrote at least once), their messages and sessions (a new " +
    "session after 30 minutes of silence) per period, in total (`channel` = `all`) and by " +
    "channel.",
  columns: [
    period,
    col("channel", "string", "A channel, or `all`", true),
    col("users", "int", "Active users"),
    col("messages", "int", "Messages from users"),
    col("sessions", "int", "Sessions"),
    col("messages_per_user", "float", "Messages per active user"),
  ],
  run: (c, q: ReportQuery) =>
    rows(
      c,
      `with m as (
         select date_trunc($5, at at time zone $4) as period, channel, pid, at
           from analytics_messages
          where creator_id = $1 and role = 'user' and at >= ${FROM} and at < ${TO}
       ), s as (
         select period, channel, pid,
                case when lag(at) over w is null or at - lag(at) over w > interval '30 minutes'
                     then 1 else 0 end as starts
           from m window w as (partition by pid order by at)
       )
       select to_char(period, 'YYYY-MM-DD') as period, coalesce(channel, 'all') as channel,
              count(distinct pid) as users, count(*) as messages, sum(starts) as sessions,
              count(*)::float8 / count(distinct pid) as messages_per_user
         from s group by grouping sets ((period), (period, channel))
        order by 1, (channel is not null), 2`,
      [...rangeParams(q), q.granularity],
    ),
};

export const retention: Report = {
  path: "retention",
  field: "retention",
  title: "Retention",
  description: "Weekly cohorts by first contact: of the people first seen in a week, how many " +
    "wrote again N weeks later (the classic triangle). Suppressed by cohort size.",
  columns: [
    col("cohort", "string", "Monday of the cohort's first week (YYYY-MM-DD, in tz)", true),
    col("week", "int", "Weeks since first contact", true),
    col("users", "int", "People in the cohort"),
    col("active", "int", "Of them, active that week"),
    col("rate", "float", "active / users"),
  ],
  run: (c, q) =>
    rows(
      c,
      `with p as (
         select pid, date_trunc('week', first_seen_at at time zone $4) as cohort
           from analytics_people
          where creator_id = $1 and first_seen_at >= ${FROM} and first_seen_at < ${TO}
       ), size as (select cohort, count(*) as n from p group by cohort),
       a as (
         select distinct m.pid, date_trunc('week', m.at at time zone $4) as wk
           from analytics_messages m join p using (pid)
          where m.creator_id = $1 and m.role = 'user' and m.at >= ${FROM} and m.at < ${TO}
       )
       select to_char(p.cohort, 'YYYY-MM-DD') as cohort, (a.wk::date - p.cohort::date) / 7 as week,
              size.n as users, count(*) as active, count(*)::float8 / size.n as rate
         from p join a using (pid) join size using (cohort)
        where a.wk >= p.cohort
        group by p.cohort, week, size.n
        order by 1, 2`,
      rangeParams(q),
    ),
};

export const programs: Report = {
  path: "programs",
  field: "programFunnel",
  title: "Program funnel",
  description: "Per program: people enrolled, reaching each step and completing, how many were " +
    "lost since the stage before, and the median time from the previous stage a person reached.",
  columns: [
    col("program_id", "string", "Program", true),
    col("stage", "string", "`enrolled`, `step` or `completed`", true),
    col("step_index", "int", "The step's place: the lowest run sequence it was reached at", true),
    col("step_id", "string", "The step's id in the flow", true),
    col("users", "int", "People who reached the stage"),
    col("drop_off", "int", "People at the stage before who did not reach this one"),
    col("median_seconds", "float", "Median seconds from the previous stage reached"),
  ],
  run: (c, q) =>
    rows(
      c,
      `with e as (
         select pid, program_id, kind, step_id, step_index, at from analytics_program_events
          where creator_id = $1 and at >= ${FROM} and at < ${TO}
            and ($5::uuid is null or program_id = $5::uuid)
       ), person as (
         select program_id, pid, 'enrolled' as stage, null::text as step_id, min(at) as at
           from e group by program_id, pid
         union all
         select program_id, pid, 'step', step_id, min(at)
           from e where kind = 'step' group by program_id, pid, step_id
         union all
         select program_id, pid, 'completed', null, min(at)
           from e where kind = 'completed' group by program_id, pid
       ), steps as (
         -- A step's place: the lowest run sequence at which anyone reached it.
         select program_id, step_id, min(step_index) as ord
           from e where kind = 'step' group by program_id, step_id
       ), timed as (
         select p.*, case p.stage when 'enrolled' then -1 when 'completed' then 2147483647
                     else s.ord end as ord,
                extract(epoch from p.at - lag(p.at) over (partition by p.program_id, p.pid
                                                          order by p.at)) as secs
           from person p left join steps s using (program_id, step_id)
       )
       select program_id::text as program_id, stage,
              case when stage = 'step' then ord end as step_index, step_id,
              count(*) as users,
              lag(count(*)) over (partition by program_id order by ord) - count(*) as drop_off,
              percentile_cont(0.5) within group (order by secs) as median_seconds
         from timed group by program_id, stage, ord, step_id
        order by program_id, ord`,
      [...rangeParams(q), q.programId ?? null],
    ),
};

export const nudges: Report = {
  path: "nudges",
  field: "nudges",
  title: "Nudges",
  description: "Nudges sent by trigger and hour of day (in tz; `hour` empty = all hours): " +
    "replies within 24 hours (the person wrote, or the nudge's outcome says so) and opt-outs " +
    "after a nudge.",
  columns: [
    col("trigger", "string", "What set the nudge off", true),
    col("hour", "int", "Hour of day it was sent (0-23), empty for all hours", true),
    col("users", "int", "People nudged"),
    col("sent", "int", "Nudges sent"),
    col("replied_24h", "int", "Followed by a reply within 24 h"),
    col("reply_rate", "float", "replied_24h / sent"),
    col("opted_out", "int", "Followed by an opt-out"),
  ],
  run: (c, q) =>
    rows(
      c,
      `with n as (
         select n.trigger, n.pid, n.outcome,
                extract(hour from n.at at time zone $4)::int as hour,
                (n.outcome = 'replied' and n.outcome_at <= n.at + interval '24 hours')
                or exists (select 1 from analytics_messages m
                            where m.creator_id = n.creator_id and m.pid = n.pid
                              and m.role = 'user' and m.at > n.at
                              and m.at <= n.at + interval '24 hours') as replied
           from analytics_nudges n
          where n.creator_id = $1 and n.status = 'sent' and n.at >= ${FROM} and n.at < ${TO}
       )
       select trigger, hour, count(distinct pid) as users, count(*) as sent,
              count(*) filter (where replied) as replied_24h,
              (count(*) filter (where replied))::float8 / count(*) as reply_rate,
              count(*) filter (where outcome = 'opted_out') as opted_out
         from n group by grouping sets ((trigger), (trigger, hour))
        order by 1, (hour is not null), 2`,
      rangeParams(q),
    ),
};

export const nudgesSkipped: Report = {
  path: "nudges/skipped",
  field: "nudgesSkipped",
  title: "Nudges skipped",
  description: "Due nudges that were not sent, by reason, in total (`trigger` = `all`) and by " +
    "trigger.",
  columns: [
    col("reason", "string", "quiet_hours, frequency_cap, opted_out...", true),
    col("trigger", "string", "A trigger, or `all`", true),
    col("users", "int", "People concerned"),
    col("skipped", "int", "Nudges skipped"),
  ],
  run: (c, q) =>
    rows(
      c,
      `select coalesce(reason, 'unknown') as reason, coalesce(trigger, 'all') as trigger,
              count(distinct pid) as users, count(*) as skipped
         from (select reason, trigger, pid from analytics_nudges
                where creator_id = $1 and status = 'skipped' and at >= ${FROM} and at < ${TO}) s
        group by grouping sets ((reason), (reason, trigger))
        order by 1, (trigger is not null), 2`,
      rangeParams(q),
    ),
};

export const answers: Report = {
  path: "answers",
  field: "answers",
  title: "Answer quality",
  description: "Per period: questions, answers, refusals (the knowledge had nothing) and " +
    "handoffs to the creator, with their rates.",
  columns: [
    period,
    col("users", "int", "People who asked"),
    col("questions", "int", "Messages from users"),
    col("answers", "int", "Answers from the coach"),
    col("refused", "int", "Answers that refused"),
    col("refusal_rate", "float", "refused / answers"),
    col("handoffs", "int", "Conversations handed to the creator"),
    col("handoff_rate", "float", "handoffs / questions"),
  ],
  run: (c, q) =>
    rows(
      c,
      `with m as (
         select date_trunc($5, at at time zone $4) as period, role, refused, pid
           from analytics_messages
          where creator_id = $1 and at >= ${FROM} and at < ${TO} and role in ('user', 'assistant')
       ), h as (
         select date_trunc($5, at at time zone $4) as period, count(*) as n
           from analytics_handoffs
          where creator_id = $1 and status = 'handoff' and at >= ${FROM} and at < ${TO}
          group by 1
       ), a as (
         select period, count(distinct pid) filter (where role = 'user') as users,
                count(*) filter (where role = 'user') as questions,
                count(*) filter (where role = 'assistant') as answers,
                count(*) filter (where refused) as refused
           from m group by period
       )
       select to_char(a.period, 'YYYY-MM-DD') as period, users, questions, answers, refused,
              refused::float8 / nullif(answers, 0) as refusal_rate,
              coalesce(h.n, 0) as handoffs,
              coalesce(h.n, 0)::float8 / nullif(questions, 0) as handoff_rate
         from a left join h using (period)
        order by 1`,
      [...rangeParams(q), q.granularity],
    ),
};

export const unanswered: Report = {
  path: "answers/unanswered",
  field: "unansweredTopics",
  title: "Unanswered questions by topic",
  description: "Questions the coach could not answer (its answer refused), grouped by their " +
    "topic word: what to write next. The topic word is all that is kept of a question.",
  columns: [
    col("topic", "string", "The question's topic word", true),
    col("users", "int", "People who asked"),
    col("questions", "int", "Unanswered questions"),
  ],
  run: (c, q) =>
    rows(
      c,
      `select topic, count(distinct pid) as users, count(*) as questions
         from analytics_messages
        where creator_id = $1 and role = 'user' and unanswered and at >= ${FROM} and at < ${TO}
        group by topic order by questions desc, topic limit 200`,
      rangeParams(q),
    ),
};

export const deliveries: Report = {
  path: "deliveries",
  field: "deliveries",
  title: "Delivery health",
  description: "Messages sent or tried, by channel and status.",
  columns: [
    col("channel", "string", "Channel", true),
    col("status", "string", "queued, sending, sent, delivered, read, failed, skipped", true),
    col("users", "int", "People concerned"),
    col("deliveries", "int", "Deliveries"),
  ],
  run: (c, q) =>
    rows(
      c,
      `select channel, status, count(distinct end_user_id) as users, count(*) as deliveries
         from deliveries
        where creator_id = $1 and queued_at >= ${FROM} and queued_at < ${TO}
        group by channel, status order by 1, 2`,
      rangeParams(q),
    ),
};

export const deliveryFailures: Report = {
  path: "deliveries/failures",
  field: "deliveryFailures",
  title: "Delivery failures",
  description: "Failed and skipped deliveries by channel and reason.",
  columns: [
    col("channel", "string", "Channel", true),
    col("status", "string", "failed or skipped", true),
    col("reason", "string", "Why, as recorded", true),
    col("users", "int", "People concerned"),
    col("deliveries", "int", "Deliveries"),
  ],
  run: (c, q) =>
    rows(
      c,
      `select channel, status, coalesce(reason, 'unknown') as reason,
              count(distinct end_user_id) as users, count(*) as deliveries
         from deliveries
        where creator_id = $1 and status in ('failed', 'skipped')
          and queued_at >= ${FROM} and queued_at < ${TO}
        group by 1, 2, 3 order by deliveries desc, 1, 2, 3`,
      rangeParams(q),
    ),
};

export const whatsappCost: Report = {
  path: "deliveries/whatsapp-cost",
  field: "whatsappCost",
  title: "WhatsApp charges by pricing category",
  description: "WhatsApp messages by the pricing category the provider reported, and how many " +
    "it marked billable (multiply by your rate card for the cost).",
  columns: [
    col("pricing_category", "string", "service, utility, marketing, authentication", true),
    col("users", "int", "People concerned"),
    col("messages", "int", "Messages with this category"),
    col("billable", "int", "Of them, billable"),
  ],
  run: (c, q) =>
    rows(
      c,
      `select pricing_category, count(distinct end_user_id) as users, count(*) as messages,
              count(*) filter (where billable) as billable
         from deliveries
        where creator_id = $1 and channel = 'whatsapp' and pricing_category is not null
          and queued_at >= ${FROM} and queued_at < ${TO}
        group by 1 order by 1`,
      rangeParams(q),
    ),
};

export const badges: Report = {
  path: "badges",
  field: "badges",
  title: "Badges awarded",
  description: "Badges awarded in the range.",
  columns: [
    col("badge_id", "string", "Badge", true),
    col("users", "int", "People who earned it"),
    col("awarded", "int", "Times awarded"),
  ],
  run: (c, q) =>
    rows(
      c,
      `select badge_id::text as badge_id, count(distinct pid) as users, count(*) as awarded
         from analytics_badges
        where creator_id = $1 and at >= ${FROM} and at < ${TO}
        group by badge_id order by awarded desc, badge_id`,
      rangeParams(q),
    ),
};

export const streaks: Report = {
  path: "streaks",
  field: "streaks",
  title: "Streak distribution",
  description: "People by their current streak (days in a row) as last reported; the range " +
    "does not apply.",
  columns: [
    col("streak", "string", "Bucket of days: 0, 1, 2-3, 4-7, 8-14, 15-30, 31+", true),
    col("min_days", "int", "Lower bound of the bucket", true),
    col("users", "int", "People"),
  ],
  run: (c, q) =>
    rows(
      c,
      `select streak, min_days, count(*) as users from (
         select case when streak_days >= 31 then '31+' when streak_days >= 15 then '15-30'
                     when streak_days >= 8 then '8-14' when streak_days >= 4 then '4-7'
                     when streak_days >= 2 then '2-3' when streak_days = 1 then '1' else '0' end
                  as streak,
                case when streak_days >= 31 then 31 when streak_days >= 15 then 15
                     when streak_days >= 8 then 8 when streak_days >= 4 then 4
                     when streak_days >= 2 then 2 when streak_days = 1 then 1 else 0 end
                  as min_days
           from analytics_streaks
          where creator_id = $1 and $2::date is not null and $3::date is not null
            and $4::text is not null
       ) s group by streak, min_days order by min_days`,
      rangeParams(q),
    ),
};

/** Every report, in dashboard order. */
export const REPORTS: Report[] = [
  engagement,
  retention,
  programs,
  nudges,
  nudgesSkipped,
  answers,
  unanswered,
  deliveries,
  deliveryFailures,
  whatsappCost,
  badges,
  streaks,
];
