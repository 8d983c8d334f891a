-- Vector index marks: what the vector index worker (knowledge/vector_index.ts) has applied per
-- generation of an indexed document (one life of a conversation or user actor, a random uuid).
-- Once erased_at is set no index event of that generation is applied, whatever order events
-- arrive in; `version` is the highest version applied (for documents indexed as one record that
-- is replaced, such as a profile), so an older version delivered late cannot overwrite a newer
-- one. The row is also the lock that serialises one generation's writes across workers. No
-- tenant data: only random ids, pruned some weeks after their last event.

create table vector_index_marks (
  gen uuid primary key,
  erased_at timestamptz,
  version bigint,
  touched_at timestamptz not null default now()
);
create index vector_index_marks_touched on vector_index_marks (touched_at);
