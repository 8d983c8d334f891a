-- Tenancy foundation. Every tenant table carries creator_id and a row-level security policy keyed
-- on the per-transaction setting app.creator_id (see app/db/tenant.ts). The application runs its
-- tenant queries as coachd_app, a role without BYPASSRLS, so a query that forgets its tenant
-- sees nothing.

do $$
begin
  create role coachd_app nologin;
exception when duplicate_object then null;
end $$;

do $$
begin
  execute format('grant usage on schema %I to coachd_app', current_schema());
  execute format(
    'alter default privileges in schema %I grant select, insert, update, delete on tables to coachd_app',
    current_schema());
  execute format(
    'alter default privileges in schema %I grant usage, select on sequences to coachd_app',
    current_schema());
end $$;

-- Tenant transactions may send actor messages through the runtime's outbox (ActorClient.tellWithin).
grant select, insert, delete on rt_outbox to coachd_app;

-- The creator whose data a transaction may see; null (no rows) when unset.
create function app_creator_id() returns uuid language sql stable as $$
  select nullif(current_setting('app.creator_id', true), '')::uuid
$$;

create table creators (
  id uuid primary key default gen_random_uuid(),
  email text not null,
  name text not null default '',
  subscription_tier text not null default 'free',
  settings jsonb not null default '{}',
  created_at timestamptz not null default now()
);
create unique index creators_email on creators (lower(email));
alter table creators enable row level security;
create policy tenant on creators using (id = app_creator_id()) with check (id = app_creator_id());

create table knowledge_bases (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null references creators(id) on delete cascade,
  name text not null,
  description text not null default '',
  settings jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index knowledge_bases_creator on knowledge_bases (creator_id, created_at, id);
alter table knowledge_bases enable row level security;
create policy tenant on knowledge_bases using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

-- A document and its ingestion status. The uploaded bytes stay here until ingestion has read
-- them; ingestion (chunk, embed, index) updates status, progress, chunk_count and error.
create table documents (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null references creators(id) on delete cascade,
  knowledge_base_id uuid not null references knowledge_bases(id) on delete cascade,
  title text not null,
  filename text,
  mime_type text not null,
  size_bytes int not null,
  content bytea not null,
  content_sha256 text not null,
  metadata jsonb not null default '{}',
  status text not null default 'queued'
    check (status in ('queued', 'processing', 'ready', 'failed')),
  progress real not null default 0 check (progress between 0 and 1),
  chunk_count int not null default 0,
  error text,
  version int not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index documents_kb on documents (creator_id, knowledge_base_id, created_at, id);
alter table documents enable row level security;
create policy tenant on documents using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());
