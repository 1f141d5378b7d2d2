-- The audit log: who triggered, canceled, paused or resumed which job type, when, and what came of it.

-- One row per operator action. id is a time-ordered (version 7) UUID: newest first and paged by id,
-- compared byte-wise (COLLATE "C"). Deleted by the retention, like statuses (by at, epoch ms).
CREATE TABLE ha_audit (
  id text COLLATE "C" PRIMARY KEY,
  at bigint NOT NULL,
  instance text NOT NULL,
  action text NOT NULL,
  job_type text COLLATE "C" NOT NULL,
  identity text NOT NULL,
  detail text NOT NULL,
  outcome text NOT NULL
);
CREATE INDEX ha_audit_job_type ON ha_audit (job_type, id);
CREATE INDEX ha_audit_at ON ha_audit (at);
