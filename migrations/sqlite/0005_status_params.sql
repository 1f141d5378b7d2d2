-- The params a trigger was given (JSON text, as the job's params schema encodes them), stored with
-- every status of its executions so its retries run with them. NULL: none (every row written before).
ALTER TABLE ha_status_history ADD COLUMN params TEXT;
ALTER TABLE ha_executions ADD COLUMN params TEXT;
