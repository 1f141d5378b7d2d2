-- Instances' heartbeats: each instance announces itself every few seconds (Membership), so the
-- dashboard and GET /instances show who is alive. One row per instance name, replaced by each
-- heartbeat; seen_at is the database's clock, started_at the instance's own, both epoch ms. Rows not
-- seen for a day are deleted by the next heartbeat.
CREATE TABLE ha_instances (
  instance TEXT PRIMARY KEY,
  started_at INTEGER NOT NULL,
  seen_at INTEGER NOT NULL,
  every_ms INTEGER NOT NULL
);
