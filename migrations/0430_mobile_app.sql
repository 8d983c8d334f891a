-- The mobile app backend and one person across channels: end-user tokens, devices' push tokens
-- and link codes. Tenant tables (RLS on creator_id). Token and code secrets are kept as SHA-256
-- hashes only; a push token must be sent to its provider, so it is sealed (AES-256-GCM under
-- SECRETS_KEY) with its hash beside it for lookups.

-- One row per signed-in app (or widget) session of an end user: the access and refresh tokens
-- are opaque random strings, looked up by hash on every request, so a revocation holds at once.
create table end_user_tokens (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null references creators(id) on delete cascade,
  end_user_id uuid not null,
  -- The identity the app speaks as (channel mobile_app, external id of the device or user).
  identity_id uuid not null,
  -- How it was issued: by the creator's backend (exchange) or an anonymous device (device).
  origin text not null check (origin in ('exchange', 'device')),
  access_sha256 text not null unique,
  access_expires_at timestamptz not null,
  refresh_sha256 text not null unique,
  refresh_expires_at timestamptz not null,
  revoked_at timestamptz,
  created_at timestamptz not null default now(),
  refreshed_at timestamptz,
  unique (creator_id, id),
  foreign key (creator_id, end_user_id) references end_users(creator_id, id) on delete cascade,
  foreign key (creator_id, identity_id) references channel_identities(creator_id, id)
    on delete cascade
);
create index end_user_tokens_user on end_user_tokens (creator_id, end_user_id);
alter table end_user_tokens enable row level security;
alter table end_user_tokens force row level security;
create policy tenant on end_user_tokens using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

-- A device's push registration: FCM registration token, APNs device token or a Web Push
-- subscription (JSON). Pruned when the provider says it is no longer valid.
create table push_tokens (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null references creators(id) on delete cascade,
  end_user_id uuid not null,
  provider text not null check (provider in ('fcm', 'apns', 'webpush')),
  token_sha256 text not null,
  token_iv bytea not null,
  token_ciphertext bytea not null,
  -- Shown to the person in their list of devices (last characters, platform), never the token.
  hint text not null default '',
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  unique (creator_id, id),
  unique (creator_id, provider, token_sha256),
  foreign key (creator_id, end_user_id) references end_users(creator_id, id) on delete cascade
);
create index push_tokens_user on push_tokens (creator_id, end_user_id);
alter table push_tokens enable row level security;
alter table push_tokens force row level security;
create policy tenant on push_tokens using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

-- Short-lived, single-use codes a person asks for on one channel and sends on another, so both
-- identities become one end user.
create table link_codes (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null references creators(id) on delete cascade,
  end_user_id uuid not null,
  code_sha256 text not null,
  expires_at timestamptz not null,
  used_at timestamptz,
  used_by_identity uuid,
  created_at timestamptz not null default now(),
  unique (creator_id, code_sha256),
  foreign key (creator_id, end_user_id) references end_users(creator_id, id) on delete cascade
);
create index link_codes_user on link_codes (creator_id, end_user_id, created_at);
alter table link_codes enable row level security;
alter table link_codes force row level security;
create policy tenant on link_codes using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

-- Link codes tried per identity per window: guessing codes from one chat is cut off early.
create table link_attempts (
  creator_id uuid not null references creators(id) on delete cascade,
  channel text not null,
  external_id text not null,
  window_start bigint not null,
  count int not null,
  primary key (creator_id, channel, external_id)
);
alter table link_attempts enable row level security;
alter table link_attempts force row level security;
create policy tenant on link_attempts using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

-- The node roles of migrations/0300_least_privilege.sql.
grant select, insert, update, delete on end_user_tokens, push_tokens, link_codes, link_attempts
  to coachd_app;
grant select, insert, update, delete on end_user_tokens, push_tokens, link_codes, link_attempts
  to coachd_system;
