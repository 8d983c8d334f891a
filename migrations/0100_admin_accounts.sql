-- Creator REST admin: members and roles, refresh tokens, API keys (hashed), idempotency keys,
-- the audit log and the shared rate-limit counters. Tenant tables follow 0002: creator_id, row-level
-- security on app_creator_id().

-- Lets child tables reference (creator_id, id) so a row can never point at another tenant's row.
alter table knowledge_bases add constraint knowledge_bases_creator_id_id unique (creator_id, id);

create table creator_members (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null references creators(id) on delete cascade,
  email text not null,
  name text not null default '',
  password_hash text not null,
  role text not null check (role in ('owner', 'admin', 'editor', 'viewer')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (creator_id, id)
);
-- Login looks a member up by e-mail before any tenant is known, so e-mails are unique globally.
create unique index creator_members_email on creator_members (lower(email));
create index creator_members_creator on creator_members (creator_id, created_at, id);
alter table creator_members enable row level security;
create policy tenant on creator_members using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

create table refresh_tokens (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null references creators(id) on delete cascade,
  member_id uuid not null,
  token_sha256 text not null unique,
  expires_at timestamptz not null,
  revoked_at timestamptz,
  created_at timestamptz not null default now(),
  foreign key (creator_id, member_id) references creator_members(creator_id, id) on delete cascade
);
alter table refresh_tokens enable row level security;
create policy tenant on refresh_tokens using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

create table api_keys (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null references creators(id) on delete cascade,
  name text not null,
  prefix text not null,                 -- first characters of the key, shown in listings
  key_sha256 text not null unique,      -- the key itself is shown once and never stored
  role text not null check (role in ('admin', 'editor', 'viewer')),
  created_by uuid,
  last_used_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz not null default now()
);
create index api_keys_creator on api_keys (creator_id, created_at, id);
alter table api_keys enable row level security;
create policy tenant on api_keys using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

create table idempotency_keys (
  creator_id uuid not null references creators(id) on delete cascade,
  key text not null,
  request_sha256 text not null,
  state text not null default 'processing' check (state in ('processing', 'done')),
  response_status int,
  response_headers jsonb,
  response_body text,
  created_at timestamptz not null default now(),
  primary key (creator_id, key)
);
alter table idempotency_keys enable row level security;
create policy tenant on idempotency_keys using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

create table audit_log (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null references creators(id) on delete cascade,
  actor_kind text not null,             -- jwt | api_key | system
  actor_subject text not null,          -- member id or api key id
  action text not null,                 -- e.g. program.publish
  resource_type text not null,
  resource_id text,
  details jsonb not null default '{}',
  request_id text,
  created_at timestamptz not null default now()
);
create index audit_log_creator on audit_log (creator_id, created_at, id);
alter table audit_log enable row level security;
create policy tenant on audit_log using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

-- Fixed-window request counters shared by every node. Keyed by IP or API key, not by tenant, and
-- only touched by the connecting role, so no row-level security.
create unlogged table rate_limit_counters (
  bucket text primary key,
  window_start bigint not null,
  count int not null
);
