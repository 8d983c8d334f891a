-- Actor runtime: membership, fenced partition leases, actor state, outbox, durable reminders.

create table rt_nodes (
  instance text primary key,          -- node id plus a per-process suffix: a restart is a new owner
  node_id text not null,
  address text,
  started_at timestamptz not null default now(),
  heartbeat_at timestamptz not null default now(),
  draining boolean not null default false
);

create table rt_partitions (
  partition int primary key,
  owner text,                          -- rt_nodes.instance, null when released
  epoch bigint not null default 0,     -- bumped on every take; commits are fenced on it
  lease_until timestamptz not null default '-infinity'
);

create table rt_actor_state (
  actor_type text not null,
  actor_id text not null,
  partition int not null,
  version bigint not null,
  state jsonb not null,
  -- Stream sequences of the last messages applied, for dedupe of redeliveries, and the mailbox
  -- stream they belong to (a recreated stream starts its sequences again).
  recent_seqs bigint[] not null default '{}',
  mailbox text not null default '',
  updated_at timestamptz not null default now(),
  primary key (actor_type, actor_id)
);

create table rt_outbox (
  id text primary key,                 -- also the Nats-Msg-Id, so a re-publish is deduplicated
  partition int not null,
  subject text not null,
  headers jsonb not null default '{}',
  payload bytea not null,
  created_at timestamptz not null default now()
);
create index rt_outbox_partition on rt_outbox (partition, created_at);

create table rt_reminders (
  actor_type text not null,
  actor_id text not null,
  name text not null,
  partition int not null,
  due_at timestamptz not null,
  period_ms bigint,                    -- null for one-shot reminders
  payload jsonb,
  primary key (actor_type, actor_id, name)
);
create index rt_reminders_due on rt_reminders (partition, due_at);

-- Commits a batch of turns in one round trip. Turns whose partition epoch no longer matches are
-- rejected (the caller is a zombie for that partition); the function returns those partitions.
-- p: {"node": text, "mailbox": text, "epochs": {"<partition>": epoch}, "states": [...], "outbox": [...],
--     "reminders": [...], "cancels": [...]}
create function rt_commit(p jsonb) returns int[] language plpgsql as $$
declare
  fenced int[];
  expected int;
  written int;
  mailbox_id text := p->>'mailbox';
begin
  -- Lock the partitions we write for: a concurrent take waits until this commit is done, and a
  -- take that committed first is seen below.
  perform 1 from rt_partitions
  where partition in (select key::int from jsonb_each_text(p->'epochs'))
  for share;
  select coalesce(array_agg(e.key::int), '{}') into fenced
  from jsonb_each_text(p->'epochs') e
  left join rt_partitions rp on rp.partition = e.key::int
  where rp.partition is null or rp.owner is distinct from p->>'node' or rp.epoch <> e.value::bigint;

  insert into rt_actor_state as s
    (actor_type, actor_id, partition, version, state, recent_seqs, mailbox, updated_at)
  select x.t, x.i, x.p, x.v, x.s, x.r, mailbox_id, now()
  from jsonb_to_recordset(p->'states') as x(t text, i text, p int, v bigint, s jsonb, r bigint[])
  where not (x.p = any(fenced))
  on conflict (actor_type, actor_id) do update
    set version = excluded.version, state = excluded.state, recent_seqs = excluded.recent_seqs,
        mailbox = excluded.mailbox,
        updated_at = now()
    where s.version = excluded.version - 1;
  get diagnostics written = row_count;
  select count(*) into expected from jsonb_to_recordset(p->'states') as x(p int)
  where not (x.p = any(fenced));
  if written < expected then
    -- Only possible if a state row was changed behind the runtime's back: fail the whole batch
    -- so its turns reload their state and run again.
    raise exception 'rt_commit: actor state version conflict (% of % rows written)', written, expected
      using errcode = '40001';
  end if;

  insert into rt_outbox (id, partition, subject, headers, payload)
  select x.id, x.p, x.subject, x.h, decode(x.b, 'base64')
  from jsonb_to_recordset(p->'outbox') as x(id text, p int, subject text, h jsonb, b text)
  where not (x.p = any(fenced))
  on conflict (id) do nothing;

  delete from rt_reminders r
  using jsonb_to_recordset(p->'cancels') as x(t text, i text, n text, p int)
  where r.actor_type = x.t and r.actor_id = x.i and r.name = x.n and not (x.p = any(fenced));

  insert into rt_reminders (actor_type, actor_id, name, partition, due_at, period_ms, payload)
  select x.t, x.i, x.n, x.p, to_timestamp(x.due / 1000.0), x.period, x.payload
  from jsonb_to_recordset(p->'reminders')
    as x(t text, i text, n text, p int, due double precision, period bigint, payload jsonb)
  where not (x.p = any(fenced))
  on conflict (actor_type, actor_id, name) do update
    set due_at = excluded.due_at, period_ms = excluded.period_ms, payload = excluded.payload,
        partition = excluded.partition;
  return fenced;
end $$;
