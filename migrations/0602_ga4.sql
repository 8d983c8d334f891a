-- A creator's Google Analytics 4 property for widget events (Measurement Protocol); the API
-- secret is sealed (db/secrets.ts). Off unless the node enables it (GA4_ENABLED) and the creator
-- configured a measurement id.
create table ga4_settings (
  creator_id uuid primary key references creators(id) on delete cascade,
  measurement_id text not null,
  secret_iv bytea not null,
  secret_ciphertext bytea not null,
  updated_at timestamptz not null default now()
);
alter table ga4_settings enable row level security;
alter table ga4_settings force row level security;
create policy tenant on ga4_settings using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());
