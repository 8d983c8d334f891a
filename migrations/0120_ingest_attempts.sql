-- Ingestion attempts, counted in the document's row before an attempt reads the file and
-- committed on their own: `ingest_attempts` is bumped when an attempt starts, `ingest_attempts_ended`
-- when it ends in any way its process lived to record (ready, failed, or an error to retry). The
-- difference is the number of attempts whose process died while running them, so a file that
-- kills whatever reads it is failed with a reason instead of being redelivered for ever. Both are
-- reset when the document is queued again (upload, new content, reingest).
alter table documents
  add column ingest_attempts int not null default 0,
  add column ingest_attempts_ended int not null default 0;
