import type { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"

/**
 * Deletes what is older than `cutoff` (epoch ms), like Cassandra's TTL does: statuses (but not a
 * PENDING execution's latest), audit log entries and job events (by `at`), and claimed cron slots
 * except each job type's latest one. That one is how catch-up knows a job missed its slot: a monthly
 * job that was down over its slot must still be caught up after a 14-day retention (Cassandra keeps
 * it in cron_last_slot, without a TTL).
 */
export const run = (sql: SqlClient.SqlClient, cutoff: number): Effect.Effect<void, SqlError> =>
  Effect.gen(function* () {
    yield* sql`DELETE FROM ha_status_history WHERE job_status_ts < ${cutoff}`
    yield* sql`DELETE FROM ha_executions WHERE job_status_ts < ${cutoff} AND job_result <> 'PENDING'`
    yield* sql`DELETE FROM ha_audit WHERE at < ${cutoff}`
    yield* sql`DELETE FROM ha_events WHERE at < ${cutoff}`
    yield* sql`
      DELETE FROM ha_slots WHERE slot < ${cutoff}
      AND slot < (SELECT MAX(latest.slot) FROM ha_slots latest WHERE latest.job_type = ha_slots.job_type)`
  })
