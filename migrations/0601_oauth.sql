-- OAuth 2.0 for third-party apps (docs/business.md, "OAuth apps"): clients a creator registers,
-- authorization codes (PKCE) and tokens a member grants to a client. Only hashes of secrets,
-- codes and tokens are kept.

create table oauth_clients (
  id uuid primary key default gen_random_uuid(),
  -- Who registered the app; members of any creator may authorize it for their own team.
  creator_id uuid not null references creators(id) on delete cascade,
  name text not null,
  redirect_uris text[] not null,
  secret_sha256 text not null,
  created_at timestamptz not null default now()
);
alter table oauth_clients enable row level security;
alter table oauth_clients force row level security;
create policy tenant on oauth_clients using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

create table oauth_codes (
  code_sha256 text primary key,
  client_id uuid not null references oauth_clients(id) on delete cascade,
  creator_id uuid not null references creators(id) on delete cascade,
  member_id uuid not null,
  redirect_uri text not null,
  scope text[] not null,
  code_challenge text not null,
  code_challenge_method text not null,
  expires_at timestamptz not null,
  foreign key (creator_id, member_id) references creator_members(creator_id, id) on delete cascade
);
alter table oauth_codes enable row level security;
alter table oauth_codes force row level security;
create policy tenant on oauth_codes using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

create table oauth_tokens (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references oauth_clients(id) on delete cascade,
  creator_id uuid not null references creators(id) on delete cascade,
  member_id uuid not null,
  access_sha256 text not null unique,
  refresh_sha256 text unique,
  scope text[] not null,
  access_expires_at timestamptz not null,
  refresh_expires_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz not null default now(),
  foreign key (creator_id, member_id) references creator_members(creator_id, id) on delete cascade
);
create index oauth_tokens_member on oauth_tokens (creator_id, member_id);
alter table oauth_tokens enable row level security;
alter table oauth_tokens force row level security;
create policy tenant on oauth_tokens using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());
