-- One channel vocabulary for the whole code base (actors/contracts/channel.ts, whose test checks
-- these constraints against it): end users arrive on, and creators connect, the delivery channels
-- telegram, whatsapp, web_widget and mobile_app; a conversation may also be a creator's preview.
-- Rows written under the earlier names are renamed; any other value makes this migration fail,
-- since there is no channel to map it to.

update end_users set channel = 'mobile_app' where channel in ('mobile', 'app');
update end_users set channel = 'web_widget' where channel in ('web', 'widget');
update conversations set channel = 'mobile_app' where channel in ('mobile', 'app');
update conversations set channel = 'web_widget' where channel in ('web', 'widget');

alter table end_users add constraint end_users_channel
  check (channel in ('telegram', 'whatsapp', 'web_widget', 'mobile_app'));
alter table conversations add constraint conversations_channel
  check (channel in ('telegram', 'whatsapp', 'web_widget', 'mobile_app', 'preview'));
alter table channel_connections drop constraint channel_connections_kind_check;
alter table channel_connections add constraint channel_connections_kind
  check (kind in ('telegram', 'whatsapp', 'web_widget', 'mobile_app'));

-- A ConversationActor's state keeps the channel of its last message; its next message sets it
-- again, so a name with no channel to map it to is cleared rather than kept.
update rt_actor_state
set state = jsonb_set(state, '{channel}', case state->>'channel'
  when 'web' then '"web_widget"'
  when 'widget' then '"web_widget"'
  when 'app' then '"mobile_app"'
  when 'mobile' then '"mobile_app"'
  else 'null'
end::jsonb)
where actor_type = 'conversation'
  and state->>'channel' not in ('telegram', 'whatsapp', 'web_widget', 'mobile_app', 'preview');
