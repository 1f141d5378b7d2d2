import * as crypto from "node:crypto"
import type cassandra from "cassandra-driver"
import { Duration, Effect, Metric, Option, Schedule } from "effect"
import { StoreError } from "../../domain/Errors.js"
import type { JobId } from "../../domain/Ids.js"
import type { JobType, LockType } from "../../domain/Names.js"
import type {
  AcquireResult,
  LeaseKey,
  LockHolder,
  LockRepository,
  RenewResult,
} from "../../ports/LockRepository.js"
import { type CqlFailure, describe, type Row, type Session, toStoreError } from "./Driver.js"

/** Cassandra refuses TTLs above 20 years. */
const MaxTtlSeconds = 630_720_000

/**
 * The TTL sent for a lease of `ttl`. Cassandra stores an expiring cell's local deletion time in whole
 * seconds, as floor(write time in seconds) + TTL, so a TTL of n seconds can expire up to a second
 * early (a cell written at x.98 s with TTL 1 is gone at x+1 s: measured, see CassandraLayer.test.ts).
 * The keeper counts on the store keeping the lease at least `ttl` after the write was sent, hence
 * ceil(ttl) + 1, never 0 (0 would mean "never expires").
 */
export const leaseTtlSeconds = (ttl: Duration.Duration): number =>
  Math.min(MaxTtlSeconds, Math.ceil(Duration.toMillis(ttl) / 1000) + 1)

/** How many lightweight transactions ended with an unknown outcome (then resolved by a serial read). */
export const lwtOutcomeUnknown = Metric.counter("effect_ha_jobs_cassandra_lwt_outcome_unknown", {
  description:
    "Cassandra lightweight transactions whose outcome was unknown (timeout) and was resolved by a serial read",
  incremental: true,
})

interface Holder {
  readonly jobId: JobId
  readonly token: number
  readonly jobType: JobType
  /** null when the cell is absent (e.g. a cancel cell that outlived its TTL). */
  readonly cancelRequested: boolean | null
}

interface LockState {
  readonly holder: Option.Option<Holder>
  /** The lease_token cell, when returned (also when holder_job_id was not). */
  readonly leaseToken: number | null
  readonly lastToken: number | null
  readonly lastJobType: string | null
  /** Remaining TTL of the lease in seconds, when selected. */
  readonly ttl: number | null
}

const empty: LockState = {
  holder: Option.none(),
  leaseToken: null,
  lastToken: null,
  lastJobType: null,
  ttl: null,
}

const longOrNull = (v: unknown): number | null => {
  if (v === null || v === undefined) return null
  if (typeof v === "number") return v
  if (typeof v === "bigint") return Number(v)
  return (v as cassandra.types.Long).toNumber()
}
const stringOrNull = (v: unknown): string | null => (typeof v === "string" ? v : null)

/** The lock row as far as it was returned (a not-applied LWT returns only its condition columns). */
const stateOf = (row: Row | null | undefined): LockState => {
  if (row === undefined || row === null) return empty
  const jobId = stringOrNull(row.get("holder_job_id"))
  const token = longOrNull(row.get("lease_token"))
  const lastJobType = stringOrNull(row.get("last_job_type"))
  const cancel = row.get("cancel_requested")
  return {
    holder:
      jobId !== null && token !== null
        ? Option.some({
            jobId: jobId as JobId,
            token,
            jobType: (lastJobType ?? "") as JobType,
            cancelRequested: typeof cancel === "boolean" ? cancel : null,
          })
        : Option.none(),
    leaseToken: token,
    lastToken: longOrNull(row.get("last_token")),
    lastJobType,
    ttl: longOrNull(row.get("ttl(lease_token)")),
  }
}

type Outcome =
  | { readonly _tag: "Applied" }
  | { readonly _tag: "NotApplied"; readonly state: LockState }
  | { readonly _tag: "Unknown"; readonly failure: CqlFailure }

const isOurs = (state: LockState, key: { readonly jobId: JobId; readonly token: number }) =>
  Option.exists(state.holder, (h) => h.jobId === key.jobId && h.token === key.token)

const lockHolder = (lockType: LockType, h: Holder): LockHolder => ({
  lockType,
  jobType: h.jobType,
  jobId: h.jobId,
  token: h.token,
})

/** The CQL of the lock operations (also used verbatim by bench/cassandra.ts). */
export const lockStatements = (table: (name: string) => string) => {
  const locks = table("locks")
  const slots = table("cron_slots")
  const lastSlots = table("cron_last_slot")
  return {
    // A conditional batch on one partition: the lease cells with the lease TTL, the last-acquisition
    // cells without TTL, applied together or not at all. The conditions on last_token/last_job_type
    // make the token a compare-and-set; a not-applied result returns every condition column, which
    // is the whole holder (job id, token, job type) or the current last token to retry with.
    acquire: `BEGIN BATCH
  UPDATE ${locks} USING TTL ? SET holder_job_id = ?, lease_token = ?, cancel_requested = false WHERE lock_type = ? IF holder_job_id = null AND lease_token = null AND last_token = ? AND last_job_type = ?
  UPDATE ${locks} SET last_token = ?, last_job_type = ? WHERE lock_type = ?
APPLY BATCH`,
    renew: `UPDATE ${locks} USING TTL ? SET holder_job_id = ?, lease_token = ?, cancel_requested = false WHERE lock_type = ? IF holder_job_id = ? AND lease_token = ? AND cancel_requested = false`,
    release: `DELETE holder_job_id, lease_token, cancel_requested FROM ${locks} WHERE lock_type = ? IF holder_job_id = ? AND lease_token = ?`,
    cancel: `UPDATE ${locks} USING TTL ? SET cancel_requested = true WHERE lock_type = ? IF lease_token = ? AND last_job_type = ?`,
    read: `SELECT holder_job_id, lease_token, cancel_requested, last_token, last_job_type, TTL(lease_token) FROM ${locks} WHERE lock_type = ?`,
    claimSlot: `INSERT INTO ${slots} (job_type, slot, instance, claim_id) VALUES (?, ?, ?, ?) IF NOT EXISTS USING TTL ?`,
    readSlot: `SELECT claim_id FROM ${slots} WHERE job_type = ? AND slot = ?`,
    raiseLastSlot: `UPDATE ${lastSlots} SET last_slot = ? WHERE job_type = ? IF last_slot < ?`,
    insertLastSlot: `INSERT INTO ${lastSlots} (job_type, last_slot) VALUES (?, ?) IF NOT EXISTS`,
    readLastSlot: `SELECT last_slot FROM ${lastSlots} WHERE job_type = ?`,
  }
}

/**
 * Leases in the `locks` table (migrations/cassandra/0001_locks.cql), one row per lock type, written
 * only by lightweight transactions with server-side TTL.
 */
export const makeLocks = (session: Session): LockRepository["Type"] => {
  const q = lockStatements(session.table)
  const slotTtlSeconds = Math.min(
    MaxTtlSeconds,
    Math.ceil(Duration.toMillis(session.config.statusRetention) / 1000),
  )

  // The last acquisition seen per lock type: the first acquire attempt then usually succeeds without a
  // read. A stale entry only costs one not-applied attempt, which returns the current values.
  const known = new Map<LockType, LockState>()
  const remember = (lockType: LockType, state: LockState) => {
    if (state.lastToken !== null) known.set(lockType, state)
  }

  const lwt = (operation: string, query: string, params: ReadonlyArray<unknown>) =>
    session.execute(query, params, { idempotent: false }).pipe(
      Effect.map(
        (rs): Outcome =>
          rs.wasApplied() ? { _tag: "Applied" } : { _tag: "NotApplied", state: stateOf(rs.first()) },
      ),
      Effect.catchAll((failure) =>
        failure.outcomeUnknown
          ? Effect.succeed<Outcome>({ _tag: "Unknown", failure })
          : Effect.fail(toStoreError(operation, failure)),
      ),
    )

  // Linearizable read (SERIAL/LOCAL_SERIAL): it also completes any Paxos round still in progress on
  // the partition, so after it the outcome of an earlier, timed-out LWT is decided.
  const serialRead = (lockType: LockType, operation: string) =>
    session
      .execute(q.read, [lockType], { serialRead: true, idempotent: true })
      .pipe(Effect.map((rs) => stateOf(rs.first())))
      .pipe(Effect.mapError((e) => toStoreError(operation, e)))

  const noteUnknown = (operation: string, subject: string, failure: CqlFailure) =>
    Metric.increment(Metric.tagged(lwtOutcomeUnknown, "operation", operation)).pipe(
      Effect.zipRight(
        Effect.logWarning("Cassandra LWT outcome unknown; resolving it with a serial read").pipe(
          Effect.annotateLogs({ operation, subject, error: describe(failure.cause) }),
        ),
      ),
    )

  // After an unknown outcome: read at serial consistency, retrying while the node is unreachable
  // (the same stall that timed the write out often lasts a little longer).
  const resolve = (lockType: LockType, operation: string, failure: CqlFailure) =>
    noteUnknown(operation, lockType, failure).pipe(
      Effect.zipRight(
        serialRead(lockType, operation).pipe(
          Effect.retry({ schedule: Schedule.exponential("100 millis"), times: 4 }),
        ),
      ),
    )

  const outcomeUnknown = (operation: string, subject: string, failure: CqlFailure) =>
    new StoreError({
      operation,
      message: `Cassandra ${operation} of ${subject} timed out twice; its outcome is unknown (${toStoreError(operation, failure).message})`,
      cause: failure.cause,
    })

  const ttlSeconds = (operation: string, ttl: Duration.Duration) =>
    Duration.isFinite(ttl) && Duration.toMillis(ttl) > 0
      ? Effect.succeed(leaseTtlSeconds(ttl))
      : Effect.fail(
          new StoreError({
            operation,
            message: `lease ttl must be positive and finite, got ${Duration.format(ttl)}`,
          }),
        )

  const acquire: LockRepository["Type"]["acquire"] = ({ lockType, jobType, jobId, ttl }) =>
    Effect.gen(function* () {
      const ttlS = yield* ttlSeconds("acquire", ttl)
      let base = known.get(lockType) ?? empty
      for (let attempt = 1; ; attempt++) {
        const token = (base.lastToken ?? 0) + 1
        const outcome = yield* lwt("acquire", q.acquire, [
          ttlS,
          jobId,
          token,
          lockType,
          base.lastToken,
          base.lastJobType,
          token,
          jobType,
          lockType,
        ])
        if (outcome._tag === "Applied") {
          known.set(lockType, { ...empty, lastToken: token, lastJobType: jobType })
          return { _tag: "Acquired", token } satisfies AcquireResult
        }
        const state =
          outcome._tag === "NotApplied" ? outcome.state : yield* resolve(lockType, "acquire", outcome.failure)
        remember(lockType, state)
        if (Option.isSome(state.holder)) {
          const holder = state.holder.value
          // Ours: an earlier attempt whose answer was lost did apply.
          if (holder.jobId === jobId) return { _tag: "Acquired", token: holder.token } satisfies AcquireResult
          return { _tag: "Held", holder: lockHolder(lockType, holder) } satisfies AcquireResult
        }
        // Free, but the last token moved on (another acquire and release in between): retry with it.
        if (attempt >= 5)
          return yield* new StoreError({
            operation: "acquire",
            message: `acquiring lock type "${lockType}" did not settle after ${attempt} attempts: the lock is contended`,
          })
        base = state
      }
    })

  const renewOnce = (key: LeaseKey, ttlS: number) =>
    lwt("renew", q.renew, [ttlS, key.jobId, key.token, key.lockType, key.jobId, key.token])

  // Not applied: the lease is not ours any more, or it is ours with a cancel request (or with the
  // cancel cell gone, which only a cancel request written with a shorter TTL can leave behind).
  const notRenewed = (state: LockState, key: LeaseKey): RenewResult =>
    isOurs(state, key) ? "cancel-requested" : "lost"

  const renew: LockRepository["Type"]["renew"] = (key, ttl) =>
    Effect.gen(function* () {
      const ttlS = yield* ttlSeconds("renew", ttl)
      const outcome = yield* renewOnce(key, ttlS)
      if (outcome._tag === "Applied") return "renewed"
      if (outcome._tag === "NotApplied") return notRenewed(outcome.state, key)
      const state = yield* resolve(key.lockType, "renew", outcome.failure)
      if (!isOurs(state, key) || Option.exists(state.holder, (h) => h.cancelRequested !== false))
        return notRenewed(state, key)
      // Still ours, but we cannot tell whether the extension happened: renew again. Sent later, it
      // extends the lease at least as far as the lost attempt would have.
      const again = yield* renewOnce(key, ttlS)
      if (again._tag === "Applied") return "renewed"
      if (again._tag === "NotApplied") return notRenewed(again.state, key)
      return yield* outcomeUnknown("renew", `lock type "${key.lockType}"`, again.failure)
    })

  const releaseOnce = (key: LeaseKey) => lwt("release", q.release, [key.lockType, key.jobId, key.token])

  const release: LockRepository["Type"]["release"] = (key) =>
    Effect.gen(function* () {
      const outcome = yield* releaseOnce(key)
      if (outcome._tag === "Applied") return true
      if (outcome._tag === "NotApplied") return false
      const state = yield* resolve(key.lockType, "release", outcome.failure)
      // Gone: our delete applied (or the lease expired meanwhile, which frees it just the same).
      if (Option.isNone(state.holder)) return true
      if (!isOurs(state, key)) return false
      // Still ours: the delete has not run (it may still be queued on the node). Delete again; a
      // not-applied answer that shows the lock free means the first delete got there first.
      const again = yield* releaseOnce(key)
      if (again._tag === "Applied") return true
      if (again._tag === "NotApplied") return Option.isNone(again.state.holder)
      return yield* outcomeUnknown("release", `lock type "${key.lockType}"`, again.failure)
    })

  const holder: LockRepository["Type"]["holder"] = (lockType) =>
    serialRead(lockType, "holder").pipe(
      Effect.map((s) => Option.map(s.holder, (h) => lockHolder(lockType, h))),
    )

  const requestCancel: LockRepository["Type"]["requestCancel"] = (lockType, jobType) =>
    Effect.gen(function* () {
      for (let attempt = 1; attempt <= 3; attempt++) {
        const state = yield* serialRead(lockType, "requestCancel")
        if (Option.isNone(state.holder) || state.holder.value.jobType !== jobType) return Option.none()
        const target = state.holder.value
        // The cancel cell lives as long as the lease's other cells (remaining TTL + 1 s): it must not
        // outlive them by much, and a renewal never extends it (a cancelled lease is not renewed).
        const ttlS = Math.max(1, state.ttl ?? 1) + 1
        const outcome = yield* lwt("requestCancel", q.cancel, [ttlS, lockType, target.token, jobType])
        if (outcome._tag === "Applied") return Option.some(lockHolder(lockType, target))
        if (outcome._tag === "Unknown") {
          const after = yield* resolve(lockType, "requestCancel", outcome.failure)
          if (Option.exists(after.holder, (h) => h.token === target.token && h.cancelRequested === true))
            return Option.some(lockHolder(lockType, target))
        } else if (outcome.state.leaseToken === null || outcome.state.lastJobType !== jobType) {
          // Not applied: the lease is gone, or now held by another job type.
          return Option.none()
        }
        // The lease changed hands between the read and the write: look again.
      }
      return yield* new StoreError({
        operation: "requestCancel",
        message: `requesting cancel of lock type "${lockType}" did not settle after 3 attempts: the lock is contended`,
      })
    })

  type RawOutcome =
    | { readonly _tag: "Applied" }
    | { readonly _tag: "NotApplied"; readonly row: Row | undefined }
    | { readonly _tag: "Unknown"; readonly failure: CqlFailure }

  const rawLwt = (operation: string, query: string, params: ReadonlyArray<unknown>) =>
    session.execute(query, params, { idempotent: false }).pipe(
      Effect.map(
        (rs): RawOutcome =>
          rs.wasApplied() ? { _tag: "Applied" } : { _tag: "NotApplied", row: rs.first() ?? undefined },
      ),
      Effect.catchAll((failure) =>
        failure.outcomeUnknown
          ? Effect.succeed<RawOutcome>({ _tag: "Unknown", failure })
          : Effect.fail(toStoreError(operation, failure)),
      ),
    )

  const serialRow = (operation: string, query: string, params: ReadonlyArray<unknown>, retry: boolean) =>
    session.execute(query, params, { serialRead: true, idempotent: true }).pipe(
      Effect.map((rs): Row | undefined => rs.first() ?? undefined),
      retry ? Effect.retry({ schedule: Schedule.exponential("100 millis"), times: 4 }) : (e) => e,
      Effect.mapError((e) => toStoreError(operation, e)),
    )

  // Raises cron_last_slot to `slot` unless it is already at or above it (compare-and-set upwards).
  const raiseLastSlot = (jobType: JobType, slot: number) =>
    Effect.gen(function* () {
      for (let attempt = 1; attempt <= 5; attempt++) {
        const raised = yield* rawLwt("lastSlot", q.raiseLastSlot, [slot, jobType, slot])
        if (raised._tag === "Applied") return
        const current =
          raised._tag === "NotApplied"
            ? longOrNull(raised.row?.get("last_slot"))
            : longOrNull((yield* serialRow("lastSlot", q.readLastSlot, [jobType], true))?.get("last_slot"))
        if (current !== null && current >= slot) return
        if (current === null) {
          const inserted = yield* rawLwt("lastSlot", q.insertLastSlot, [jobType, slot])
          if (inserted._tag === "Applied") return
        }
      }
      return yield* new StoreError({
        operation: "lastSlot",
        message: `raising the last slot of ${jobType} did not settle`,
      })
    })

  const claimSlot: LockRepository["Type"]["claimSlot"] = ({ jobType, slot, instance }) =>
    Effect.gen(function* () {
      // Tells this claim from any other, also from an earlier claim of the same slot by this instance.
      const claimId = crypto.randomUUID()
      let claimed = false
      for (let attempt = 1; ; attempt++) {
        const outcome = yield* rawLwt("claimSlot", q.claimSlot, [
          jobType,
          slot,
          instance,
          claimId,
          slotTtlSeconds,
        ])
        // Not applied: IF NOT EXISTS returns the existing row, ours when an earlier attempt of this
        // claim (whose answer was lost) got there first.
        if (outcome._tag === "NotApplied") {
          if (outcome.row?.get("claim_id") !== claimId) return false
          claimed = true
          break
        }
        if (outcome._tag === "Applied") {
          claimed = true
          break
        }
        if (attempt >= 2)
          return yield* outcomeUnknown("claimSlot", `the cron slot ${jobType}@${slot}`, outcome.failure)
        yield* noteUnknown("claimSlot", `${jobType}@${slot}`, outcome.failure)
        const row = yield* serialRow("claimSlot", q.readSlot, [jobType, slot], true)
        if (row !== undefined) {
          claimed = row.get("claim_id") === claimId
          if (!claimed) return false
          break
        }
        // Not there (yet: the lost insert may still be queued on the node): insert again.
      }
      // The slot is ours whatever happens next: a failure to record it as the last slot only makes a
      // later catch-up look one slot further back.
      yield* raiseLastSlot(jobType, slot).pipe(
        Effect.catchAll((e) =>
          Effect.logWarning("could not record the last cron slot").pipe(
            Effect.annotateLogs({ jobType, error: e.message }),
          ),
        ),
      )
      return claimed
    })

  const lastSlot: LockRepository["Type"]["lastSlot"] = (jobType) =>
    serialRow("lastSlot", q.readLastSlot, [jobType], false).pipe(
      Effect.map((row) => Option.fromNullable(longOrNull(row?.get("last_slot")))),
    )

  return { acquire, renew, release, holder, requestCancel, claimSlot, lastSlot }
}
