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
