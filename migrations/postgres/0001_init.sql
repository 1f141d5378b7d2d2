-- effect-ha-jobs on PostgreSQL. Applied once by the SQL store's migrator (recorded in
-- ha_jobs_migrations), in one transaction with the record. Times are epoch milliseconds, as on
-- SQLite, so both dialects share every statement; lease expiry compares them with the server's clock.
-- Names and ids are COLLATE "C": job ids are time-ordered text, paged by byte-wise comparison.

-- One row per lock type. The holder columns are NULL when the lock is free; last_token survives
-- release and expiry so fencing tokens keep increasing.
CREATE TABLE ha_locks (
  lock_type text COLLATE "C" PRIMARY KEY,
  job_type text COLLATE "C",
  job_id text COLLATE "C",
  token bigint,
  expires_at bigint,
  cancel_requested integer NOT NULL DEFAULT 0,
  last_token bigint NOT NULL DEFAULT 0
);

-- Cron slot claims: the primary key makes each slot claimable once.
CREATE TABLE ha_slots (
  job_type text COLLATE "C" NOT NULL,
  slot bigint NOT NULL,
  instance text NOT NULL,
  claimed_at bigint NOT NULL,
  PRIMARY KEY (job_type, slot)
);

-- Every status ever written (history), in write order.
CREATE TABLE ha_status_history (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  trigger_id text COLLATE "C" NOT NULL,
  job_type text COLLATE "C" NOT NULL,
  job_id text COLLATE "C" NOT NULL,
  lock_type text COLLATE "C" NOT NULL,
  job_state text NOT NULL,
  job_result text NOT NULL,
  job_status_ts bigint NOT NULL,
  content text,
  fencing_token bigint,
  attempt integer NOT NULL,
  trigger_source text NOT NULL,
  reason text,
  scheduled_at bigint,
  instance text
);
CREATE INDEX ha_status_history_execution ON ha_status_history (job_type, job_id, id);
CREATE INDEX ha_status_history_ts ON ha_status_history (job_status_ts);

-- The latest status of each execution (what lists and the supervisor read).
CREATE TABLE ha_executions (
  trigger_id text COLLATE "C" NOT NULL,
  job_type text COLLATE "C" NOT NULL,
  job_id text COLLATE "C" NOT NULL,
  lock_type text COLLATE "C" NOT NULL,
  job_state text NOT NULL,
  job_result text NOT NULL,
  job_status_ts bigint NOT NULL,
  content text,
  fencing_token bigint,
  attempt integer NOT NULL,
  trigger_source text NOT NULL,
  reason text,
  scheduled_at bigint,
  instance text,
  PRIMARY KEY (job_type, job_id)
);
CREATE INDEX ha_executions_pending ON ha_executions (job_type, job_result, job_id);
CREATE INDEX ha_executions_ts ON ha_executions (job_status_ts);
