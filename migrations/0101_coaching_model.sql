-- The coaching data model the admin API manages: end users and their conversations, messages,
-- interactions, program progress, engagement, badges and achievements; programs with published
-- versions; channel connections with encrypted secrets. Every table is a tenant table (0002), and
-- child rows reference their parent through (creator_id, id) so they cannot cross tenants.

create table end_users (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null references creators(id) on delete cascade,
  channel text not null,                -- a delivery channel (values: 0102_channel_vocabulary.sql)
  external_id text not null,            -- the channel's id for the person
  display_name text not null default '',
  email text,
  locale text,
  timezone text,
  profile jsonb not null default '{}',
  status text not null default 'active' check (status in ('active', 'opted_out')),
  created_at timestamptz not null default now(),
  last_active_at timestamptz,
  unique (creator_id, id),
  unique (creator_id, channel, external_id)
);
create index end_users_creator on end_users (creator_id, created_at, id);
alter table end_users enable row level security;
create policy tenant on end_users using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

create table programs (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null references creators(id) on delete cascade,
  knowledge_base_id uuid,
  name text not null,
  description text not null default '',
  flow_definition jsonb not null,       -- the draft; published versions are frozen copies
  status text not null default 'draft' check (status in ('draft', 'published', 'unpublished')),
  published_version int,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (creator_id, id),
  foreign key (creator_id, knowledge_base_id) references knowledge_bases(creator_id, id)
    on delete set null (knowledge_base_id)
);
create index programs_creator on programs (creator_id, created_at, id);
alter table programs enable row level security;
create policy tenant on programs using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

create table program_versions (
  creator_id uuid not null references creators(id) on delete cascade,
  program_id uuid not null,
  version int not null,
  flow_definition jsonb not null,
  published_by text not null,
  published_at timestamptz not null default now(),
  primary key (program_id, version),
  foreign key (creator_id, program_id) references programs(creator_id, id) on delete cascade
);
alter table program_versions enable row level security;
create policy tenant on program_versions using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

create table badges (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null references creators(id) on delete cascade,
  name text not null,
  description text not null default '',
  icon_url text,
  criteria text not null,               -- the DSL source, e.g. "streak_days >= 7 and sessions >= 3"
  criteria_ast jsonb not null,          -- its parsed form, for the user actor to evaluate
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (creator_id, id)
);
create index badges_creator on badges (creator_id, created_at, id);
alter table badges enable row level security;
create policy tenant on badges using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

create table conversations (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null references creators(id) on delete cascade,
  end_user_id uuid not null,
  channel text not null,
  program_id uuid,
  status text not null default 'open' check (status in ('open', 'closed', 'handoff')),
  started_at timestamptz not null default now(),
  last_message_at timestamptz,
  created_at timestamptz not null default now(),
  unique (creator_id, id),
  foreign key (creator_id, end_user_id) references end_users(creator_id, id) on delete cascade
);
create index conversations_creator on conversations (creator_id, created_at, id);
create index conversations_user on conversations (creator_id, end_user_id, created_at, id);
alter table conversations enable row level security;
create policy tenant on conversations using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

create table messages (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null references creators(id) on delete cascade,
  conversation_id uuid not null,
  end_user_id uuid not null,
  role text not null check (role in ('user', 'assistant', 'system', 'creator')),
  content text not null,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  foreign key (creator_id, conversation_id) references conversations(creator_id, id)
    on delete cascade,
  foreign key (creator_id, end_user_id) references end_users(creator_id, id) on delete cascade
);
create index messages_conversation on messages (creator_id, conversation_id, created_at, id);
create index messages_search on messages using gin (to_tsvector('simple', content));
alter table messages enable row level security;
create policy tenant on messages using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

create table user_interactions (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null references creators(id) on delete cascade,
  end_user_id uuid not null,
  kind text not null,
  data jsonb not null default '{}',
  created_at timestamptz not null default now(),
  foreign key (creator_id, end_user_id) references end_users(creator_id, id) on delete cascade
);
create index user_interactions_user on user_interactions (creator_id, end_user_id, created_at);
alter table user_interactions enable row level security;
create policy tenant on user_interactions using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

create table program_progress (
  creator_id uuid not null references creators(id) on delete cascade,
  end_user_id uuid not null,
  program_id uuid not null,
  program_version int not null,
  current_step text,
  status text not null default 'active' check (status in ('active', 'completed', 'paused')),
  data jsonb not null default '{}',
  started_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  completed_at timestamptz,
  primary key (end_user_id, program_id),
  foreign key (creator_id, end_user_id) references end_users(creator_id, id) on delete cascade,
  foreign key (creator_id, program_id) references programs(creator_id, id) on delete cascade
);
create index program_progress_program on program_progress (creator_id, program_id);
alter table program_progress enable row level security;
create policy tenant on program_progress using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

create table engagement_metrics (
  creator_id uuid not null references creators(id) on delete cascade,
  end_user_id uuid not null,
  day date not null,
  messages_in int not null default 0,
  messages_out int not null default 0,
  sessions int not null default 0,
  proactive_sent int not null default 0,
  primary key (end_user_id, day),
  foreign key (creator_id, end_user_id) references end_users(creator_id, id) on delete cascade
);
alter table engagement_metrics enable row level security;
create policy tenant on engagement_metrics using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

create table user_badges (
  creator_id uuid not null references creators(id) on delete cascade,
  end_user_id uuid not null,
  badge_id uuid not null,
  awarded_at timestamptz not null default now(),
  primary key (end_user_id, badge_id),
  foreign key (creator_id, end_user_id) references end_users(creator_id, id) on delete cascade,
  foreign key (creator_id, badge_id) references badges(creator_id, id) on delete cascade
);
alter table user_badges enable row level security;
create policy tenant on user_badges using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

create table achievements (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null references creators(id) on delete cascade,
  end_user_id uuid not null,
  kind text not null,
  title text not null,
  data jsonb not null default '{}',
  achieved_at timestamptz not null default now(),
  foreign key (creator_id, end_user_id) references end_users(creator_id, id) on delete cascade
);
create index achievements_user on achievements (creator_id, end_user_id, achieved_at);
alter table achievements enable row level security;
create policy tenant on achievements using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

create table channel_connections (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null references creators(id) on delete cascade,
  kind text not null check (kind in ('telegram', 'whatsapp', 'web_widget')),
  name text not null,
  config jsonb not null default '{}',   -- non-secret settings (phone number id, origins, ...)
  public_key text unique,               -- web widget key, safe to embed in pages
  secret_ciphertext bytea,              -- AES-256-GCM under SECRETS_KEY; aad = creator:id
  secret_iv bytea,
  status text not null default 'active' check (status in ('active', 'disabled')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (creator_id, id)
);
create index channel_connections_creator on channel_connections (creator_id, created_at, id);
alter table channel_connections enable row level security;
create policy tenant on channel_connections using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());
