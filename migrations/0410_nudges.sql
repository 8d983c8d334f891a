-- Every proactive message the coach tried to send: sent (with its channel and kind), or skipped
-- and why, and what came of it (a reply within 24 hours, an opt-out). A projection of the
-- UserActors' nudge events (channels/core/nudge_records.ts); one row per attempt, named by the
-- attempt's id. Pseudonymous: ids and hours, no message text. A creator's proactive settings
-- live in creators.settings -> 'proactive'.
create table nudges (
  id uuid primary key,
  creator_id uuid not null references creators(id) on delete cascade,
  end_user_id uuid not null,
  trigger text not null check (trigger in
    ('inactivity', 'reengagement', 'streak_at_risk', 'milestone', 'program_step')),
  step int,
  status text not null check (status in ('sent', 'skipped')),
  reason text,
  retry_at timestamptz,
  channel text,
  kind text check (kind in ('text', 'template')),
  delivery_id uuid,
  local_hour int,
  usual_hour int,
  at timestamptz not null,
  replied_at timestamptz,
  opted_out_at timestamptz,
  unique (creator_id, id)
);
create index nudges_creator_at on nudges (creator_id, at desc);
create index nudges_user on nudges (creator_id, end_user_id, at desc);
alter table nudges enable row level security;
alter table nudges force row level security;
create policy tenant on nudges using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());
-- Default privileges (0002, 0300) grant the node roles their rows; said again for clusters whose
-- migrations ran as another role.
grant select, insert, update, delete on nudges to coachd_app;
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'coachd_system') then
    grant select, insert, update, delete on nudges to coachd_system;
  end if;
end $$;
