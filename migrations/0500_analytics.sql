-- Analytics read models: projections of the events stream (analytics/projections/), written
-- exactly once (each event id once, in the same transaction as the projection's position).
-- People appear only as a pseudonymous id (an HMAC of the end user id with a per-creator key);
-- no message text is kept. Tenant tables (RLS on creator_id) except the projection's position
-- and applied event ids, which only the node's system role reads.

-- The per-creator HMAC key, sealed with the node's SECRETS_KEY (db/secrets.ts, AES-256-GCM).
create table analytics_keys (
  creator_id uuid primary key references creators(id) on delete cascade,
  iv bytea not null,
  sealed bytea not null,
  created_at timestamptz not null default now()
);

-- Where each projection has got to in the stream, committed with the rows it wrote.
create table analytics_checkpoints (
  projection text primary key,
  last_seq bigint not null default 0,
  applied bigint not null default 0,
  -- Events whose body did not match the catalog, passed over (and logged).
  rejected bigint not null default 0,
  updated_at timestamptz not null default now()
);

-- Event ids already applied: a copy republished after the stream's duplicate window is a no-op.
create table analytics_applied (
  event_id text primary key,
  applied_at timestamptz not null default now()
);
create index analytics_applied_age on analytics_applied (applied_at);

-- Pseudonyms of erased end users: replaying the stream does not bring them back.
create table analytics_erased (
  creator_id uuid not null references creators(id) on delete cascade,
  pid text not null,
  erased_at timestamptz not null default now(),
  primary key (creator_id, pid)
);

-- One row per person: first and last contact (retention cohorts).
create table analytics_people (
  creator_id uuid not null references creators(id) on delete cascade,
  pid text not null,
  first_seen_at timestamptz not null,
  last_seen_at timestamptz not null,
  first_channel text not null,
  primary key (creator_id, pid)
);

-- One row per message said in a conversation, without its text.
create table analytics_messages (
  event_id text primary key,
  creator_id uuid not null references creators(id) on delete cascade,
  pid text not null,
  channel text not null,
  role text not null,
  at timestamptz not null,
  -- A hash of conversation and message id: pairs an answer with its question.
  message_key text,
  reply_to_key text,
  -- A question: its topic word; set unanswered when the answer to it refused.
  topic text,
  unanswered boolean not null default false,
  -- An answer: whether it refused (the knowledge had nothing).
  refused boolean not null default false
);
create index analytics_messages_time on analytics_messages (creator_id, at);
create index analytics_messages_key on analytics_messages (creator_id, message_key)
  where message_key is not null;
create index analytics_messages_pid on analytics_messages (creator_id, pid, at);

create table analytics_handoffs (
  event_id text primary key,
  creator_id uuid not null references creators(id) on delete cascade,
  pid text not null,
  channel text not null,
  status text not null,
  reason text,
  at timestamptz not null
);
create index analytics_handoffs_time on analytics_handoffs (creator_id, at);

create table analytics_program_events (
  event_id text primary key,
  creator_id uuid not null references creators(id) on delete cascade,
  pid text not null,
  program_id uuid not null,
  -- 'enrolled', 'step' or 'completed'
  kind text not null check (kind in ('enrolled', 'step', 'completed')),
  step_id text,
  step_index int,
  at timestamptz not null
);
create index analytics_program_events_program on analytics_program_events (creator_id, program_id, at);

create table analytics_nudges (
  creator_id uuid not null references creators(id) on delete cascade,
  nudge_id text not null,
  pid text not null,
  trigger text not null,
  status text not null check (status in ('sent', 'skipped')),
  reason text,
  channel text,
  at timestamptz not null,
  outcome text,
  outcome_at timestamptz,
  primary key (creator_id, nudge_id)
);
create index analytics_nudges_time on analytics_nudges (creator_id, at);

create table analytics_badges (
  event_id text primary key,
  creator_id uuid not null references creators(id) on delete cascade,
  pid text not null,
  badge_id uuid not null,
  at timestamptz not null
);
create index analytics_badges_time on analytics_badges (creator_id, at);

create table analytics_streaks (
  creator_id uuid not null references creators(id) on delete cascade,
  pid text not null,
  streak_days int not null,
  longest_days int not null,
  at timestamptz not null,
  primary key (creator_id, pid)
);

create table analytics_subscriptions (
  event_id text primary key,
  creator_id uuid not null references creators(id) on delete cascade,
  plan text not null,
  status text not null,
  previous_plan text,
  at timestamptz not null
);

create table analytics_webhooks (
  event_id text primary key,
  creator_id uuid references creators(id) on delete cascade,
  provider text not null,
  kind text not null,
  verified boolean not null,
  at timestamptz not null
);
create index analytics_webhooks_time on analytics_webhooks (creator_id, at);

do $$
declare
  t text;
begin
  foreach t in array array['analytics_keys', 'analytics_erased', 'analytics_people', 'analytics_messages',
    'analytics_handoffs', 'analytics_program_events', 'analytics_nudges', 'analytics_badges',
    'analytics_streaks', 'analytics_subscriptions', 'analytics_webhooks']
  loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format('create policy tenant on %I using (creator_id = app_creator_id())
      with check (creator_id = app_creator_id())', t);
  end loop;
end $$;

-- Positions and applied ids span tenants: the system role's alone.
revoke all on analytics_checkpoints, analytics_applied from coachd_app;

-- Delivery health reads the deliveries table by channel and time.
create index deliveries_analytics on deliveries (creator_id, queued_at);
