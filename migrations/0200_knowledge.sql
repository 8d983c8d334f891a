-- Knowledge chunks: the text of every indexed chunk (its vector lives in Chroma under the same
-- id), kept here for lexical full-text search in hybrid retrieval and for citations. Tenant rows
-- like 0002's: creator_id plus a row-level security policy on app.creator_id.

create table knowledge_chunks (
  id text primary key,
  creator_id uuid not null references creators(id) on delete cascade,
  knowledge_base_id uuid not null references knowledge_bases(id) on delete cascade,
  document_id uuid not null references documents(id) on delete cascade,
  ordinal int not null,
  heading text not null default '',
  text text not null,
  start_offset int not null,
  end_offset int not null,
  page int,
  -- Headings weigh more than body text in lexical ranking.
  tsv tsvector generated always as (
    setweight(to_tsvector('english', heading), 'A') || setweight(to_tsvector('english', text), 'B')
  ) stored,
  created_at timestamptz not null default now()
);
create index knowledge_chunks_doc on knowledge_chunks (creator_id, document_id, ordinal);
create index knowledge_chunks_kb on knowledge_chunks (creator_id, knowledge_base_id);
create index knowledge_chunks_tsv on knowledge_chunks using gin (tsv);
alter table knowledge_chunks enable row level security;
create policy tenant on knowledge_chunks using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());
