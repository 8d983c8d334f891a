-- Real-time conversations (web widget, mobile app): what a person's sockets show, in order. Each
-- end user has their own numbering (1, 2, 3...) taken from a counter row locked by the inserting
-- transaction, so numbers commit in order with no gaps: a socket that saw message n resumes
-- after n and misses nothing, and a gap it sees is a message still to fetch.

create table realtime_cursors (
  creator_id uuid not null references creators(id) on delete cascade,
  end_user_id uuid not null,
  last_seq bigint not null,
  primary key (creator_id, end_user_id),
  foreign key (creator_id, end_user_id) references end_users(creator_id, id) on delete cascade
);
alter table realtime_cursors enable row level security;
create policy tenant on realtime_cursors using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());

create table realtime_messages (
  creator_id uuid not null references creators(id) on delete cascade,
  end_user_id uuid not null,
  seq bigint not null,
  -- Idempotency: the delivery id of an outbound message, the client's id of an inbound one.
  key text not null,
  role text not null check (role in ('user', 'assistant', 'creator', 'system')),
  -- text, quick_replies, citations, purpose, client id
  body jsonb not null,
  created_at timestamptz not null default now(),
  primary key (creator_id, end_user_id, seq),
  unique (creator_id, key),
  foreign key (creator_id, end_user_id) references end_users(creator_id, id) on delete cascade
);
alter table realtime_messages enable row level security;
create policy tenant on realtime_messages using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());
alter table realtime_messages force row level security;
alter table realtime_cursors force row level security;
