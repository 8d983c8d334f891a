-- Least privilege. The schema owner (who runs these migrations) is not what the node logs in as.
-- The node uses two login roles that own nothing (docs/operations.md):
--   coachd_app     tenant transactions (db/tenant.ts withTenant): row-level security applies, no
--                  BYPASSRLS; data grants from 0002_tenancy.sql, plus rt_outbox for tellWithin.
--   coachd_system  the actor runtime (rt_* tables) and what precedes or spans tenants: sign-up,
--                  login, API-key lookup, workers (withSystem): BYPASSRLS and row grants only.
-- Roles are cluster-wide: created once (NOLOGIN; the deployment gives LOGIN and a password, see
-- db/roles.ts), granted per schema, so every test schema of one cluster shares them.

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'coachd_system') then
    create role coachd_system nologin bypassrls;
  end if;
exception when duplicate_object or unique_violation then null; -- created by a parallel migration
end $$;

-- Roles made by hand (e.g. CloudNativePG managed roles) must have the same shape.
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'coachd_app' and (rolsuper or rolbypassrls)) then
    raise exception 'role coachd_app must be neither a superuser nor BYPASSRLS';
  end if;
  if exists (select 1 from pg_roles where rolname = 'coachd_system' and rolsuper) then
    raise exception 'role coachd_system must not be a superuser';
  end if;
  if not exists (select 1 from pg_roles where rolname = 'coachd_system' and rolbypassrls) then
    raise exception 'role coachd_system needs BYPASSRLS (as a superuser: alter role coachd_system bypassrls)';
  end if;
end $$;

do $$
declare
  s text := current_schema();
begin
  execute format('grant usage on schema %I to coachd_system', s);
  execute format('grant select, insert, update, delete on all tables in schema %I to coachd_system', s);
  execute format('grant usage, select on all sequences in schema %I to coachd_system', s);
  execute format(
    'alter default privileges in schema %I grant select, insert, update, delete on tables to coachd_system', s);
  execute format(
    'alter default privileges in schema %I grant usage, select on sequences to coachd_system', s);
end $$;

-- A node may see which migrations ran (to start without the owner's URL), not rewrite the list.
revoke insert, update, delete on schema_migrations from coachd_system;

-- Row-level security holds for a non-superuser owner too (superusers bypass it whatever the
-- table says, hence the node never logs in as one).
do $$
declare
  t record;
begin
  for t in
    select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and c.relkind = 'r' and c.relrowsecurity
  loop
    execute format('alter table %I force row level security', t.relname);
  end loop;
end $$;
