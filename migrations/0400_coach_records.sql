-- Read models of the proactive coach, projected from the UserActor's events: program progress
-- (newest revision wins), badges awarded once, achievements once per key, and the learned
-- profile in end_users.profile. Badges gain the message that announces them.

alter table program_progress add column rev bigint not null default 0;
alter table program_progress drop constraint program_progress_status_check;
alter table program_progress add constraint program_progress_status_check
  check (status in ('active', 'completed', 'paused', 'unenrolled'));
create index program_progress_status on program_progress (creator_id, program_id, status);

-- What the coach says when it awards the badge, in the creator's words.
alter table badges add column message text;

-- One row per achievement key (`first_week`, `comeback:2026-03-02`): a redelivered event
-- adds nothing.
alter table achievements add column source_key text;
create unique index achievements_source on achievements (end_user_id, source_key);

-- Segments filter on the learned profile.
create index end_users_language on end_users (creator_id, (profile #>> '{insights,language}'));
create index end_users_risk on end_users (creator_id, (profile #>> '{insights,risk,level}'));
