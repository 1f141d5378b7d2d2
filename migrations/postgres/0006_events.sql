-- Job events: what the library decided about a slot or a trigger that is not an execution (a slot
-- missed, a misfire, an overlap, a catch-up run or declined, preconditions failing, retries exhausted).

-- One row per event, or per run of equal events coalesced: count of them, about the slots (or times)
-- from from_at to to_at. id is a time-ordered (version 7) UUID: newest first and paged by id, compared
-- byte-wise (COLLATE "C"). Times are epoch ms. Deleted by the retention, like statuses (by at).
CREATE TABLE ha_events (
  id text COLLATE "C" PRIMARY KEY,
  at bigint NOT NULL,
  job_type text COLLATE "C" NOT NULL,
  kind text NOT NULL,
  instance text NOT NULL,
  reason text NOT NULL,
  count integer NOT NULL,
  from_at bigint NOT NULL,
  to_at bigint NOT NULL
);
CREATE INDEX ha_events_job_type ON ha_events (job_type, id);
CREATE INDEX ha_events_at ON ha_events (at);
