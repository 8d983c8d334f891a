-- The dashboard reads a creator's messages of a range by time: an index that carries what the
-- reports read (who, channel, role, the answer flags, the topic) answers them from the index
-- alone, without visiting rows scattered over the table.
drop index if exists analytics_messages_time;
create index analytics_messages_time on analytics_messages (creator_id, at)
  include (pid, role, channel, refused, unanswered, topic);
