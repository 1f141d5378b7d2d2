import type { SqlClient } from "@effect/sql"
import type { Fragment } from "@effect/sql/Statement"
import { Duration, Effect, Option } from "effect"
import { StoreError } from "../../domain/Errors.js"
import type { JobId } from "../../domain/Ids.js"
import type { JobType, LockType } from "../../domain/Names.js"
import { Pause } from "../../domain/Pause.js"
import {
  type AcquireResult,
  type LockHolder,
  LockRepository,
  type RenewResult,
} from "../../ports/LockRepository.js"

/**
 * The store's time (epoch millis) as a fragment of a statement. The dialect chooses it: an expression
 * of the server's clock on PostgreSQL, a parameter read from one Effect clock on SQLite.
 */
export type Now = Effect.Effect<Fragment>

interface HolderRow {
  readonly lock_type: string
  readonly job_type: string
  readonly job_id: string
  // PostgreSQL returns BIGINT as a string.
  readonly token: number | string
}

const holderOf = (r: HolderRow): LockHolder => ({
  lockType: r.lock_type as LockType,
  jobType: r.job_type as JobType,
  jobId: r.job_id as JobId,
  token: Number(r.token),
})

interface PauseRow {
  readonly job_type: string
  readonly note: string
  readonly paused_by: string
  readonly instance: string
  // Epoch ms; PostgreSQL returns BIGINT as a string.
  readonly since: number | string
  readonly until_at: number | string | null
  readonly block_manual: number | boolean
}

/** The first row as a Pause (none: no row); a row that does not decode is a StoreError. */
const pauseOf = (operation: string) => (rows: ReadonlyArray<PauseRow>) =>
  Effect.try({
    try: () =>
      Option.map(
        Option.fromNullable(rows[0]),
        (r) =>
          new Pause({
            jobType: r.job_type as JobType,
            note: r.note,
            by: r.paused_by,
            instance: r.instance,
            since: new Date(Number(r.since)),
            until: Option.map(Option.fromNullable(r.until_at), (t) => new Date(Number(t))),
            blockManual: Boolean(Number(r.block_manual)),
          }),
      ),
    catch: (e) => StoreError.fromUnknown(operation, e),
  })

/** Whole milliseconds: a BIGINT parameter on PostgreSQL refuses "1500.5". */
const millis = (d: Duration.Duration) => Math.round(Duration.toMillis(d))

/**
 * Leases in one table, for every SQL dialect. Each operation decides in one statement (a conditional
 * upsert or update with RETURNING), so there is no read-then-write race between instances; expiry is
 * compared with `now`, the store's one clock, never a caller's.
 */
export const make = (sql: SqlClient.SqlClient, now: Now) => {
  const holderAt = (lockType: LockType, t: Fragment) =>
    sql<HolderRow>`
      SELECT lock_type, job_type, job_id, token FROM ha_locks
      WHERE lock_type = ${lockType} AND job_id IS NOT NULL AND expires_at > ${t}`

  const pausedRow = (jobType: JobType) => sql<PauseRow>`SELECT * FROM ha_pauses WHERE job_type = ${jobType}`

  return LockRepository.of({
    acquire: ({ lockType, jobType, jobId, ttl }) =>
      Effect.gen(function* () {
        for (let attempt = 0; attempt < 3; attempt++) {
          const t = yield* now
          // last_token survives release and expiry, so tokens keep increasing.
          const won = yield* sql<{ token: number | string }>`
            INSERT INTO ha_locks (lock_type, job_type, job_id, token, expires_at, cancel_requested, last_token)
            VALUES (${lockType}, ${jobType}, ${jobId}, 1, ${t} + ${millis(ttl)}, 0, 1)
            ON CONFLICT (lock_type) DO UPDATE SET
              job_type = excluded.job_type, job_id = excluded.job_id,
              token = ha_locks.last_token + 1, last_token = ha_locks.last_token + 1,
              expires_at = excluded.expires_at, cancel_requested = 0
            WHERE ha_locks.job_id IS NULL OR ha_locks.expires_at <= ${t}
            RETURNING token`
          if (won[0]) return { _tag: "Acquired", token: Number(won[0].token) } satisfies AcquireResult
          // Only to name the holder in the answer; the decision above is already made.
          const held = yield* holderAt(lockType, t)
          // Released or expired between the two statements: try again.
          if (held[0]) return { _tag: "Held", holder: holderOf(held[0]) } satisfies AcquireResult
        }
        return yield* StoreError.of("acquire", "the lock changed hands three times in a row; try again")
      }).pipe(StoreError.refail("acquire")),

    renew: (key, ttl) =>
      Effect.gen(function* () {
        const t = yield* now
        // Extends the lease unless a cancel was requested; no row means it is gone.
        const rows = yield* sql<{ cancel_requested: number }>`
          UPDATE ha_locks
          SET expires_at = CASE WHEN cancel_requested = 0 THEN ${t} + ${millis(ttl)} ELSE expires_at END
          WHERE lock_type = ${key.lockType} AND job_id = ${key.jobId} AND token = ${key.token}
            AND expires_at > ${t}
          RETURNING cancel_requested`
        const row = rows[0]
        const result: RenewResult =
          row === undefined ? "lost" : Number(row.cancel_requested) ? "cancel-requested" : "renewed"
        return result
      }).pipe(StoreError.refail("renew")),

    release: (key) =>
      Effect.gen(function* () {
        const t = yield* now
        const rows = yield* sql<{ lock_type: string }>`
          UPDATE ha_locks
          SET job_type = NULL, job_id = NULL, token = NULL, expires_at = NULL, cancel_requested = 0
          WHERE lock_type = ${key.lockType} AND job_id = ${key.jobId} AND token = ${key.token}
            AND expires_at > ${t}
          RETURNING lock_type`
        return rows.length > 0
      }).pipe(StoreError.refail("release")),

    holder: (lockType) =>
      Effect.flatMap(now, (t) => holderAt(lockType, t)).pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), holderOf)),
        StoreError.refail("holder"),
      ),

    lease: (lockType) =>
      Effect.flatMap(
        now,
        (t) =>
          sql<HolderRow & { readonly expires_in: number | string }>`
            SELECT lock_type, job_type, job_id, token, expires_at - ${t} AS expires_in FROM ha_locks
            WHERE lock_type = ${lockType} AND job_id IS NOT NULL AND expires_at > ${t}`,
      ).pipe(
        Effect.map((rows) =>
          Option.map(Option.fromNullable(rows[0]), (r) => ({
            holder: holderOf(r),
            expiresInMs: Number(r.expires_in),
          })),
        ),
        StoreError.refail("lease"),
      ),

    requestCancel: (lockType, jobType) =>
      Effect.gen(function* () {
        const t = yield* now
        const rows = yield* sql<HolderRow>`
          UPDATE ha_locks SET cancel_requested = 1
          WHERE lock_type = ${lockType} AND job_type = ${jobType} AND job_id IS NOT NULL
            AND expires_at > ${t}
          RETURNING lock_type, job_type, job_id, token`
        return Option.map(Option.fromNullable(rows[0]), holderOf)
      }).pipe(StoreError.refail("requestCancel")),

    claimSlot: ({ jobType, slot, instance, claimId }) =>
      Effect.gen(function* () {
        const t = yield* now
        // One statement decides: a row comes back when this claim inserted the slot, or when the
        // slot is already this claim's (an earlier attempt landed, its answer was lost), so a retry
        // is true again. The update rewrites the same claim_id, only to make RETURNING answer; a
        // NULL claim_id (a claim from before migration 0002) never equals, so it stays false.
        const rows = yield* sql<{ slot: number | string }>`
          INSERT INTO ha_slots (job_type, slot, instance, claimed_at, claim_id)
          VALUES (${jobType}, ${slot}, ${instance}, ${t}, ${claimId})
          ON CONFLICT (job_type, slot) DO UPDATE SET claim_id = excluded.claim_id
          WHERE ha_slots.claim_id = excluded.claim_id
          RETURNING slot`
        return rows.length > 0
      }).pipe(StoreError.refail("claimSlot")),

    slotClaim: (jobType, slot) =>
      Effect.map(
        sql<{ instance: string; claim_id: string | null }>`
          SELECT instance, claim_id FROM ha_slots WHERE job_type = ${jobType} AND slot = ${slot}`,
        (rows) =>
          Option.map(Option.fromNullable(rows[0]), (row) => ({
            instance: row.instance,
            claimId: Option.fromNullable(row.claim_id),
          })),
      ).pipe(StoreError.refail("slotClaim")),

    lastSlot: (jobType) =>
      Effect.map(
        sql<{
          slot: number | string | null
        }>`SELECT MAX(slot) AS slot FROM ha_slots WHERE job_type = ${jobType}`,
        (rows) => Option.map(Option.fromNullable(rows[0]?.slot), Number),
      ).pipe(StoreError.refail("lastSlot")),

    pause: (pause) =>
      sql
        .withTransaction(
          Effect.gen(function* () {
            // The pause replaced, read just before the write: informational only (the write does not
            // depend on it), so a read-committed race with another pause costs nothing.
            const before = yield* pausedRow(pause.jobType)
            yield* sql`
              INSERT INTO ha_pauses (job_type, note, paused_by, instance, since, until_at, block_manual)
              VALUES (${pause.jobType}, ${pause.note}, ${pause.by}, ${pause.instance},
                ${pause.since.getTime()}, ${Option.getOrNull(Option.map(pause.until, (d) => d.getTime()))},
                ${pause.blockManual ? 1 : 0})
              ON CONFLICT (job_type) DO UPDATE SET
                note = excluded.note, paused_by = excluded.paused_by, instance = excluded.instance,
                since = excluded.since, until_at = excluded.until_at, block_manual = excluded.block_manual`
            return before
          }),
        )
        .pipe(StoreError.refail("pause"), Effect.flatMap(pauseOf("pause"))),

    resume: (jobType) =>
      sql<PauseRow>`DELETE FROM ha_pauses WHERE job_type = ${jobType} RETURNING *`.pipe(
        StoreError.refail("resume"),
        Effect.flatMap(pauseOf("resume")),
      ),

    paused: (jobType) =>
      pausedRow(jobType).pipe(StoreError.refail("paused"), Effect.flatMap(pauseOf("paused"))),
  })
}
