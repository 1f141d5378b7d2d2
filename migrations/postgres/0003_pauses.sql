-- Operator pauses: a job type paused cluster-wide stays paused across restarts, on every instance.

-- One row per paused job type, deleted on resume; kept past until_at (the pause is then over).
CREATE TABLE ha_pauses (
  job_type text COLLATE "C" PRIMARY KEY,
  note text NOT NULL,
  paused_by text NOT NULL,
  instance text NOT NULL,
  since bigint NOT NULL,
  until_at bigint,
  block_manual integer NOT NULL DEFAULT 0
);
