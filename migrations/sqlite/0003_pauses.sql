-- Operator pauses: a job type paused cluster-wide stays paused across restarts, on every instance.

-- One row per paused job type, deleted on resume; kept past until_at (the pause is then over).
CREATE TABLE ha_pauses (
  job_type TEXT PRIMARY KEY,
  note TEXT NOT NULL,
  paused_by TEXT NOT NULL,
  instance TEXT NOT NULL,
  since INTEGER NOT NULL,
  until_at INTEGER,
  block_manual INTEGER NOT NULL DEFAULT 0
);
