-- Job events: what the library decided about a slot or a trigger that is not an execution (a slot
-- missed, a misfire, an overlap, a catch-up run or declined, preconditions failing, retries exhausted).

-- One row per event, or per run of equal events coalesced: count of them, about the slots (or times)
-- from from_at to to_at. id is a time-ordered (version 7) UUID: newest first and paged by id, compared
-- byte-wise. Times are epoch ms. Deleted by the retention, like statuses (by at).
CREATE TABLE ha_events (
  id TEXT PRIMARY KEY,
  at INTEGER NOT NULL,
  job_type TEXT NOT NULL,
  kind TEXT NOT NULL,
  instance TEXT NOT NULL,
  reason TEXT NOT NULL,
  count INTEGER NOT NULL,
  from_at INTEGER NOT NULL,
  to_at INTEGER NOT NULL
);
CREATE INDEX ha_events_job_type ON ha_events (job_type, id);
CREATE INDEX ha_events_at ON ha_events (at);
