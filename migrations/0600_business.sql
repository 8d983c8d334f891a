-- Creators as customers: their Stripe subscription and plan, usage counters, limit notices,
-- e-mail log, password resets and outbound webhooks (docs/business.md). Tenant tables carry
-- creator_id under row-level security like the others; node roles get grants from the default
-- privileges of 0002 and 0300, and row-level security is forced here (0300 forced the older ones).

-- One row per creator that ever went to Checkout: the subscription as Stripe last told us.
create table creator_billing (
  creator_id uuid primary key references creators(id) on delete cascade,
  stripe_customer_id text unique,
  stripe_subscription_id text,
  -- The paid plan of the subscription (pro, business); free when there is none.
  plan text not null default 'free',
  -- Stripe's subscription status: active, trialing, past_due, unpaid, canceled, incomplete...
  status text not null default 'none',
  current_period_end timestamptz,
  cancel_at_period_end boolean not null default false,
  -- After a failed payment the plan holds until then, then falls back to free.
  grace_until timestamptz,
  -- When the state above was read from Stripe (an older event never overwrites a newer read).
  state_at timestamptz,
  updated_at timestamptz not null default now()
);
alter table creator_billing enable row level security;
alter table creator_billing force row level security;
create policy tenant on creator_billing using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

-- Stripe event ids already processed (each is applied once, in the same transaction); the
-- webhook writes them as the system role, a tenant sees only its own.
create table stripe_events (
  id text primary key,
  type text not null,
  creator_id uuid,
  processed_at timestamptz not null default now()
);
alter table stripe_events enable row level security;
alter table stripe_events force row level security;
create policy tenant on stripe_events using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

-- Inbound messages per creator and calendar month (UTC), the "messages per month" limit.
create table usage_monthly (
  creator_id uuid not null references creators(id) on delete cascade,
  month date not null,
  messages int not null default 0,
  primary key (creator_id, month)
);
alter table usage_monthly enable row level security;
alter table usage_monthly force row level security;
create policy tenant on usage_monthly using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

-- A limit reached, once per creator, limit and month: the creator is told once, not per refusal.
create table plan_limit_hits (
  creator_id uuid not null references creators(id) on delete cascade,
  limit_name text not null,
  month date not null,
  plan text not null,
  usage bigint not null,
  limit_value bigint not null,
  first_at timestamptz not null default now(),
  refusals int not null default 1,
  primary key (creator_id, limit_name, month)
);
alter table plan_limit_hits enable row level security;
alter table plan_limit_hits force row level security;
create policy tenant on plan_limit_hits using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

-- Every transactional e-mail sent or attempted (no bodies, no tokens).
create table email_log (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid references creators(id) on delete cascade,
  template text not null,
  locale text not null,
  recipient text not null,
  provider text not null,
  status text not null check (status in ('sent', 'failed', 'bounced')),
  provider_message_id text,
  error text,
  created_at timestamptz not null default now()
);
create index email_log_creator on email_log (creator_id, created_at);
alter table email_log enable row level security;
alter table email_log force row level security;
create policy tenant on email_log using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

-- Password resets of creator members: only the token's hash is kept.
create table password_resets (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null references creators(id) on delete cascade,
  member_id uuid not null,
  token_sha256 text not null unique,
  expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  foreign key (creator_id, member_id) references creator_members(creator_id, id) on delete cascade
);
create index password_resets_expiry on password_resets (expires_at);
alter table password_resets enable row level security;
alter table password_resets force row level security;
create policy tenant on password_resets using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

-- Outbound webhooks: an endpoint, its event types and its signing secret (sealed, db/secrets.ts).
create table webhook_endpoints (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null references creators(id) on delete cascade,
  url text not null,
  description text not null default '',
  event_types text[] not null,
  secret_iv bytea not null,
  secret_ciphertext bytea not null,
  status text not null default 'enabled' check (status in ('enabled', 'disabled')),
  disabled_reason text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (creator_id, id)
);
create index webhook_endpoints_creator on webhook_endpoints (creator_id, created_at, id);
alter table webhook_endpoints enable row level security;
alter table webhook_endpoints force row level security;
create policy tenant on webhook_endpoints using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

-- One message of one event to one endpoint, and its durable retry schedule: the dispatcher takes
-- due rows (`next_attempt_at`) with skip locked, so any node sends and none holds it in memory.
create table webhook_deliveries (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null references creators(id) on delete cascade,
  endpoint_id uuid not null,
  -- The Standard Webhooks `webhook-id`: the same for every attempt and replay of this message.
  message_id text not null,
  event_id text not null,
  event_type text not null,
  payload jsonb not null,
  status text not null default 'pending'
    check (status in ('pending', 'succeeded', 'failed')),
  attempts int not null default 0,
  next_attempt_at timestamptz,
  last_attempt_at timestamptz,
  last_status_code int,
  last_error text,
  created_at timestamptz not null default now(),
  unique (endpoint_id, event_id),
  foreign key (creator_id, endpoint_id) references webhook_endpoints(creator_id, id)
    on delete cascade
);
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at)
  where status = 'pending';
create index webhook_deliveries_endpoint on webhook_deliveries (creator_id, endpoint_id, created_at, id);
alter table webhook_deliveries enable row level security;
alter table webhook_deliveries force row level security;
create policy tenant on webhook_deliveries using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());
