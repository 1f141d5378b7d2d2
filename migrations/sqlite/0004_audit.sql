-- The audit log: who triggered, canceled, paused or resumed which job type, when, and what came of it.

-- One row per operator action. id is a time-ordered (version 7) UUID: newest first and paged by id,
-- compared byte-wise. Deleted by the retention, like statuses (by at, epoch ms).
CREATE TABLE ha_audit (
  id TEXT PRIMARY KEY,
  at INTEGER NOT NULL,
  instance TEXT NOT NULL,
  action TEXT NOT NULL,
  job_type TEXT NOT NULL,
  identity TEXT NOT NULL,
  detail TEXT NOT NULL,
  outcome TEXT NOT NULL
);
CREATE INDEX ha_audit_job_type ON ha_audit (job_type, id);
CREATE INDEX ha_audit_at ON ha_audit (at);
