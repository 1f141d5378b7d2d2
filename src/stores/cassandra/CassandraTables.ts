import { Effect } from "effect"
import { StoreError } from "../../domain/Errors.js"
import * as Env from "../../Env.js"
import { valueColumns } from "./CassandraStatuses.js"
import { describeFailure, type Session } from "./Driver.js"

/** The columns of an audit entry (migrations/cassandra/0006_audit.cql). */
const auditColumns = ["id", "at", "instance", "action", "job_type", "identity", "detail", "outcome"]

/** The tables and columns the layer uses, as created by migrations/cassandra. */
export const requiredColumns: Readonly<Record<string, ReadonlyArray<string>>> = {
  locks: ["lock_type", "holder_job_id", "lease_token", "cancel_requested", "last_token", "last_job_type"],
  status_history: statusColumns(["job_type", "job_id", "status_id"]),
  // The former layout of the latest statuses, read until its rows expired (CassandraBuckets.ts).
  status_latest: statusColumns(["job_type", "bucket", "job_id", "status_id"]),
  status_by_day: statusColumns(["job_type", "day", "job_id", "status_id"]),
  status_days: ["job_type", "day"],
  status_pending: statusColumns(["job_type", "job_id", "status_id"]),
  cron_slots: ["job_type", "slot", "instance", "claim_id"],
  cron_last_slot: ["job_type", "last_slot"],
  job_pauses: ["job_type", "note", "paused_by", "instance", "since", "until_at", "block_manual"],
  audit_by_day: ["day", ...auditColumns],
  audit_by_type: ["job_type", "day", ...auditColumns.filter((c) => c !== "job_type")],
  // Job events (migrations/cassandra/0008_events.cql).
  events_by_type: ["job_type", "day", "id", "at", "kind", "instance", "reason", "count", "from_at", "to_at"],
  // Instances' heartbeats (migrations/cassandra/0010_instances.cql).
  instances: ["cluster", "instance", "started_at", "seen_at", "every_ms"],
}

function statusColumns(key: ReadonlyArray<string>): ReadonlyArray<string> {
  return [...key, ...valueColumns]
}

export const migrateHint = (keyspace: string) =>
  `run the migrations: ${Env.CassandraKeyspace.name}=${keyspace} npx tsx scripts/migrate-cassandra.ts (or CassandraMigrator.migrate)`

/**
 * Checks at layer construction that the keyspace exists and has every table and column the layer
 * uses, so a missing migration is a clear error now rather than a failing statement later.
 */
export const checkSchema = (session: Session): Effect.Effect<void, StoreError> =>
  Effect.gen(function* () {
    const { keyspace } = session.config
    const fail = (message: string) => Effect.fail(StoreError.of("check schema", message))
    const keyspaces = yield* session
      .execute("SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?", [keyspace], {
        idempotent: true,
      })
      .pipe(StoreError.refail("check schema", describeFailure))
    if (keyspaces.rowLength === 0)
      return yield* fail(
        `keyspace "${keyspace}" does not exist: set ${Env.CassandraKeyspace.name} to the right keyspace, or create it and its tables with: ${Env.CassandraKeyspace.name}=${keyspace} npx tsx scripts/migrate-cassandra.ts --create-keyspace --replication "{'class': 'NetworkTopologyStrategy', '<dc>': 3}"`,
      )
    const columns = yield* session
      .execute(
        "SELECT table_name, column_name FROM system_schema.columns WHERE keyspace_name = ?",
        [keyspace],
        { idempotent: true },
      )
      .pipe(StoreError.refail("check schema", describeFailure))
    const present = new Map<string, Set<string>>()
    for (const row of columns.rows) {
      const table = String(row.get("table_name"))
      const set = present.get(table) ?? new Set<string>()
      set.add(String(row.get("column_name")))
      present.set(table, set)
    }
    const missingTables = Object.keys(requiredColumns).filter((t) => !present.has(t))
    if (missingTables.length > 0)
      return yield* fail(
        `keyspace "${keyspace}" has no table ${missingTables.join(", ")}: ${migrateHint(keyspace)}`,
      )
    const missingColumns = Object.entries(requiredColumns).flatMap(([table, cols]) =>
      cols.filter((c) => !present.get(table)?.has(c)).map((c) => `${table}.${c}`),
    )
    if (missingColumns.length > 0)
      return yield* fail(
        `keyspace "${keyspace}" lacks the column(s) ${missingColumns.join(", ")}: ${migrateHint(keyspace)}`,
      )
  })
