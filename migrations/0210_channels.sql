-- Channels: who a person is on each channel, what they sent us (once), what we sent them and how
-- far it got. Tenant tables (RLS on creator_id) except the rate slots, which hold only channel
-- connection ids and times.

-- One row per person per channel (a Telegram user, a WhatsApp number, a widget visitor, an app
-- device owner). Several identities may belong to one end user once they are linked.
create table channel_identities (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null references creators(id) on delete cascade,
  end_user_id uuid not null,
  channel text not null,
  external_id text not null,
  -- The connection (bot, phone number, widget key) the person last reached us through: replies
  -- and nudges leave through it.
  connection_id uuid,
  display_name text not null default '',
  reachable boolean not null default true,
  unreachable_reason text,
  -- Telegram: the person pressed Start; WhatsApp: the 24-hour window opens at each inbound.
  started_at timestamptz,
  last_inbound_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (creator_id, id),
  unique (creator_id, channel, external_id),
  foreign key (creator_id, end_user_id) references end_users(creator_id, id) on delete cascade,
  foreign key (creator_id, connection_id) references channel_connections(creator_id, id)
    on delete set null (connection_id)
);
create index channel_identities_user on channel_identities (creator_id, end_user_id);
alter table channel_identities enable row level security;
create policy tenant on channel_identities using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

-- Every end user created before identities existed has one: their first contact.
insert into channel_identities (creator_id, end_user_id, channel, external_id, display_name)
  select creator_id, id, channel, external_id, display_name from end_users
  on conflict do nothing;

-- Provider message ids already taken in (webhooks are retried for hours): a repeat is answered
-- 200 and dropped. Pruned after RECEIPT_DAYS by the intake.
create table inbound_receipts (
  creator_id uuid not null references creators(id) on delete cascade,
  connection_id uuid not null,
  external_message_id text not null,
  received_at timestamptz not null default now(),
  primary key (connection_id, external_message_id)
);
create index inbound_receipts_age on inbound_receipts (received_at);
alter table inbound_receipts enable row level security;
create policy tenant on inbound_receipts using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

-- One row per message we send, keyed by its idempotency key (the id of the event that asked for
-- it): queued → sending → sent → delivered → read, or failed / skipped with a reason. Statuses
-- from providers only ever move it forward (see channels/core/delivery_status.ts).
create table deliveries (
  id text primary key,
  creator_id uuid not null references creators(id) on delete cascade,
  end_user_id uuid,
  conversation_id uuid,
  channel text not null,
  connection_id uuid,
  external_id text,
  purpose text not null,
  content jsonb not null,
  status text not null check (
    status in ('queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'skipped')
  ),
  reason text,
  provider_message_ids text[] not null default '{}',
  attempts int not null default 0,
  -- WhatsApp: what the provider charged for (service, utility, marketing, authentication).
  pricing_category text,
  billable boolean,
  queued_at timestamptz not null default now(),
  sent_at timestamptz,
  delivered_at timestamptz,
  read_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz not null default now(),
  unique (creator_id, id),
  foreign key (creator_id, end_user_id) references end_users(creator_id, id) on delete cascade
);
create index deliveries_conversation on deliveries (creator_id, conversation_id, queued_at);
create index deliveries_status on deliveries (creator_id, channel, status, queued_at);
create index deliveries_provider on deliveries using gin (provider_message_ids);
alter table deliveries enable row level security;
create policy tenant on deliveries using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

-- Cluster-wide send pacing: the next free send time per key (a bot, a bot's chat, a phone
-- number). A sender reserves its slot with one update, so every node shares one spacing.
create table channel_rate_slots (
  key text primary key,
  next_at timestamptz not null
);

-- Conversations a creator must answer personally are found by status.
create index conversations_status on conversations (creator_id, status, last_message_at);

-- Messages are written by a projection of the conversation events: the event id makes a
-- redelivered event a no-op, and an outbound message names its delivery.
alter table messages add column source_event text unique;
alter table messages add column delivery_id text;
create index messages_delivery on messages (creator_id, delivery_id) where delivery_id is not null;
-- When the conversation's status last changed (a late event never undoes a newer one).
alter table conversations add column status_at timestamptz;
