-- effect-ha-jobs on SQLite. Times are epoch milliseconds. Statements are separated by ";" at line end.

-- One row per lock type. The holder columns are NULL when the lock is free; last_token survives
-- release and expiry so fencing tokens keep increasing.
CREATE TABLE IF NOT EXISTS ha_locks (
  lock_type TEXT PRIMARY KEY,
  job_type TEXT,
  job_id TEXT,
  token INTEGER,
  expires_at INTEGER,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  last_token INTEGER NOT NULL DEFAULT 0
);

-- Cron slot claims: the primary key makes each slot claimable once.
CREATE TABLE IF NOT EXISTS ha_slots (
  job_type TEXT NOT NULL,
  slot INTEGER NOT NULL,
  instance TEXT NOT NULL,
  claimed_at INTEGER NOT NULL,
  PRIMARY KEY (job_type, slot)
);

-- Every status ever written (history), in write order.
CREATE TABLE IF NOT EXISTS ha_status_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  trigger_id TEXT NOT NULL,
  job_type TEXT NOT NULL,
  job_id TEXT NOT NULL,
  lock_type TEXT NOT NULL,
  job_state TEXT NOT NULL,
  job_result TEXT NOT NULL,
  job_status_ts INTEGER NOT NULL,
  content TEXT,
  fencing_token INTEGER,
  attempt INTEGER NOT NULL,
  trigger_source TEXT NOT NULL,
  reason TEXT,
  scheduled_at INTEGER,
  instance TEXT
);
CREATE INDEX IF NOT EXISTS ha_status_history_execution ON ha_status_history (job_type, job_id, id);
CREATE INDEX IF NOT EXISTS ha_status_history_ts ON ha_status_history (job_status_ts);

-- The latest status of each execution (what lists and the supervisor read).
CREATE TABLE IF NOT EXISTS ha_executions (
  trigger_id TEXT NOT NULL,
  job_type TEXT NOT NULL,
  job_id TEXT NOT NULL,
  lock_type TEXT NOT NULL,
  job_state TEXT NOT NULL,
  job_result TEXT NOT NULL,
  job_status_ts INTEGER NOT NULL,
  content TEXT,
  fencing_token INTEGER,
  attempt INTEGER NOT NULL,
  trigger_source TEXT NOT NULL,
  reason TEXT,
  scheduled_at INTEGER,
  instance TEXT,
  PRIMARY KEY (job_type, job_id)
);
CREATE INDEX IF NOT EXISTS ha_executions_pending ON ha_executions (job_type, job_result, job_id);
CREATE INDEX IF NOT EXISTS ha_executions_ts ON ha_executions (job_status_ts);
