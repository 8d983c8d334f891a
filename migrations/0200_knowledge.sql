-- Knowledge chunks: the text of every indexed chunk (its vector lives in Chroma under the same
-- id), kept here for lexical full-text search in hybrid retrieval and for citations. Tenant rows
-- like 0002's: creator_id plus a row-level security policy on app.creator_id.

alter table documents add constraint documents_creator_id_id unique (creator_id, id);

create table knowledge_chunks (
  id text primary key,
  creator_id uuid not null references creators(id) on delete cascade,
  knowledge_base_id uuid not null,
  document_id uuid not null,
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
  created_at timestamptz not null default now(),
  -- Through (creator_id, id): a chunk can never point at another tenant's document.
  foreign key (creator_id, knowledge_base_id) references knowledge_bases(creator_id, id)
    on delete cascade,
  foreign key (creator_id, document_id) references documents(creator_id, id) on delete cascade
);
create index knowledge_chunks_doc on knowledge_chunks (creator_id, document_id, ordinal);
create index knowledge_chunks_kb on knowledge_chunks (creator_id, knowledge_base_id);
create index knowledge_chunks_tsv on knowledge_chunks using gin (tsv);
alter table knowledge_chunks enable row level security;
create policy tenant on knowledge_chunks using (creator_id = app_creator_id())
  with check (creator_id = app_creator_id());
