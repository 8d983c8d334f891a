-- Sessions that end when they should, per-account login throttling, sign-up confirmation and
-- account notices (api/README.md, "Sessions and accounts").

-- A sign-in is a session: its refresh tokens rotate within it and its access tokens carry its id
-- (`sid`), so logout, a role change or the member's removal ends the access tokens too.
create table auth_sessions (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null references creators(id) on delete cascade,
  member_id uuid not null,
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  foreign key (creator_id, member_id) references creator_members(creator_id, id) on delete cascade
);
create index auth_sessions_member on auth_sessions (member_id);
alter table auth_sessions enable row level security;
create policy tenant on auth_sessions using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

-- Refresh tokens issued before sessions existed belong to none and no longer refresh.
alter table refresh_tokens add column session_id uuid references auth_sessions(id) on delete cascade;
create index refresh_tokens_session on refresh_tokens (session_id);

-- An e-mail may be a member of several creators' teams; within one team it is unique. So adding a
-- member says nothing about other tenants, and login picks the team whose password matches.
drop index creator_members_email;
create unique index creator_members_creator_email on creator_members (creator_id, lower(email));
create index creator_members_email on creator_members (lower(email));

-- Failed logins per account and per account + client address, keyed by a hash (no e-mail or
-- address stored): the first slows one address down, the second, softer, slows every address
-- except those the account signed in from before.
create table login_throttle (
  key text primary key,
  failures int not null,
  last_failure_at timestamptz not null,
  blocked_until timestamptz
);
create table login_known_addresses (
  key text primary key,
  last_success_at timestamptz not null
);

-- Sign-ups wait for the e-mail's owner to confirm; the answer to a sign-up is the same whether
-- the address already has an account or not.
create table signup_requests (
  id uuid primary key default gen_random_uuid(),
  email text not null,
  name text not null,
  organization text,
  password_hash text not null,
  token_sha256 text not null unique,
  expires_at timestamptz not null,
  created_at timestamptz not null default now()
);
create index signup_requests_expiry on signup_requests (expires_at);

-- Every notice the API sends to an e-mail address (sign-up confirmation, "you already have an
-- account"), recorded without its secrets; the mailer seam (api/auth/notices.ts) delivers it.
create table account_notices (
  id uuid primary key default gen_random_uuid(),
  kind text not null,
  email text not null,
  request_id text,
  created_at timestamptz not null default now()
);
