import type cassandra from "cassandra-driver"
import { Duration, Effect, Option } from "effect"
import { type CqlFailure, StoreError } from "../../domain/Errors.js"
import type { JobId } from "../../domain/Ids.js"
import type { JobType, LockType } from "../../domain/Names.js"
import { Pause } from "../../domain/Pause.js"
import type {
  AcquireResult,
  LeaseKey,
  LockHolder,
  LockRepository,
  RenewResult,
} from "../../ports/LockRepository.js"
import { lwt, noteUnknown, outcomeUnknown, reportResolution, serialRow } from "./CassandraLwt.js"
import { describeFailure, type Row, type Session, timedOutHost, timedOutHosts } from "./Driver.js"

/**
 * Tries of one slot claim whose outcome stays unknown, each through another coordinator when the
 * last one timed out; within the scheduler's 10 s bound on a claim attempt (2 s request timeout).
 */
const MaxClaimAttempts = 3

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

/** A lock LWT's answer (CassandraLwt.Outcome), the row read as the lock's state. */
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
  const pauses = table("job_pauses")
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
    readSlot: `SELECT instance, claim_id FROM ${slots} WHERE job_type = ? AND slot = ?`,
    raiseLastSlot: `UPDATE ${lastSlots} SET last_slot = ? WHERE job_type = ? IF last_slot < ?`,
    insertLastSlot: `INSERT INTO ${lastSlots} (job_type, last_slot) VALUES (?, ?) IF NOT EXISTS`,
    readLastSlot: `SELECT last_slot FROM ${lastSlots} WHERE job_type = ?`,
    // Pauses: plain statements (no LWT), the last pause or resume wins.
    pause: `INSERT INTO ${pauses} (job_type, note, paused_by, instance, since, until_at, block_manual) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    resume: `DELETE FROM ${pauses} WHERE job_type = ?`,
    readPause: `SELECT job_type, note, paused_by, instance, since, until_at, block_manual FROM ${pauses} WHERE job_type = ?`,
  }
}

/**
 * Leases in the `locks` table (migrations/cassandra/0001_locks.cql), one row per lock type, written
 * only by lightweight transactions with server-side TTL; cron slots likewise; operator pauses in
 * `job_pauses` (0005_pauses.cql) with plain statements.
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

  const lockLwt = (
    operation: string,
    query: string,
    params: ReadonlyArray<unknown>,
    avoid?: ReadonlyArray<string>,
  ) =>
    Effect.map(
      lwt(session, operation, query, params, avoid),
      (o): Outcome => (o._tag === "NotApplied" ? { _tag: "NotApplied", state: stateOf(o.row) } : o),
    )

  // A linearizable read of the lock row (see CassandraLwt.serialRow).
  const serialRead = (lockType: LockType, operation: string, retry = false, avoid?: ReadonlyArray<string>) =>
    Effect.map(serialRow(session, operation, q.read, [lockType], retry, avoid), stateOf)

  /** The coordinator an unknown outcome timed out on: the read that resolves it goes elsewhere. */
  const avoiding = (failure: CqlFailure) => {
    const host = timedOutHost(failure)
    return host === undefined ? [] : [host]
  }

  // After an unknown outcome: count it, then read at serial consistency, retrying while the node is
  // unreachable, through another coordinator than the one that timed out. Token-aware routing sends
  // every request on a lock type to the same replica first: a cut-off node that is still "up" to
  // the driver would otherwise get the read too, and every renewal of that lease, until the bound.
  const resolve = (lockType: LockType, operation: string, failure: CqlFailure) =>
    noteUnknown(operation, lockType, failure).pipe(
      Effect.zipRight(serialRead(lockType, operation, true, avoiding(failure))),
    )

  const ttlSeconds = (operation: string, ttl: Duration.Duration) =>
    Duration.isFinite(ttl) && Duration.toMillis(ttl) > 0
      ? Effect.succeed(leaseTtlSeconds(ttl))
      : Effect.fail(
          StoreError.of(operation, `lease ttl must be positive and finite, got ${Duration.format(ttl)}`),
        )

  const acquire: LockRepository["Type"]["acquire"] = ({ lockType, jobType, jobId, ttl }) =>
    Effect.gen(function* () {
      const ttlS = yield* ttlSeconds("acquire", ttl)
      let base = known.get(lockType) ?? empty
      for (let attempt = 1; ; attempt++) {
        const token = (base.lastToken ?? 0) + 1
        const outcome = yield* lockLwt("acquire", q.acquire, [
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
          return yield* StoreError.of(
            "acquire",
            `acquiring lock type "${lockType}" did not settle after ${attempt} attempts: the lock is contended`,
          )
        base = state
      }
    }).pipe(reportResolution("acquire", lockType, (r) => (r._tag === "Acquired" ? "acquired" : "held")))

  const renewOnce = (key: LeaseKey, ttlS: number, avoid?: ReadonlyArray<string>) =>
    lockLwt("renew", q.renew, [ttlS, key.jobId, key.token, key.lockType, key.jobId, key.token], avoid)

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
      // Still ours, but we cannot tell whether the extension happened: renew again, through another
      // coordinator. Sent later, it extends the lease at least as far as the lost attempt would have.
      const again = yield* renewOnce(key, ttlS, avoiding(outcome.failure))
      if (again._tag === "Applied") return "renewed"
      if (again._tag === "NotApplied") return notRenewed(again.state, key)
      return yield* outcomeUnknown("renew", `lock type "${key.lockType}"`, again.failure)
    }).pipe(reportResolution("renew", key.lockType, (r) => r))

  const releaseOnce = (key: LeaseKey) => lockLwt("release", q.release, [key.lockType, key.jobId, key.token])

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
    }).pipe(reportResolution("release", key.lockType, (released) => (released ? "released" : "not-held")))

  const holder: LockRepository["Type"]["holder"] = (lockType) =>
    serialRead(lockType, "holder").pipe(
      Effect.map((s) => Option.map(s.holder, (h) => lockHolder(lockType, h))),
    )

  // The lease cells' TTL is whole seconds: the time left is rounded up to one.
  const lease: LockRepository["Type"]["lease"] = (lockType) =>
    serialRead(lockType, "lease").pipe(
      Effect.map((s) =>
        Option.map(s.holder, (h) => ({
          holder: lockHolder(lockType, h),
          expiresInMs: Math.max(1, s.ttl ?? 1) * 1000,
        })),
      ),
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
        const outcome = yield* lockLwt("requestCancel", q.cancel, [ttlS, lockType, target.token, jobType])
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
      return yield* StoreError.of(
        "requestCancel",
        `requesting cancel of lock type "${lockType}" did not settle after 3 attempts: the lock is contended`,
      )
    })

  // Raises cron_last_slot to `slot` unless it is already at or above it (compare-and-set upwards).
  const raiseLastSlot = (jobType: JobType, slot: number) =>
    Effect.gen(function* () {
      for (let attempt = 1; attempt <= 5; attempt++) {
        const raised = yield* lwt(session, "lastSlot", q.raiseLastSlot, [slot, jobType, slot])
        if (raised._tag === "Applied") return
        const current =
          raised._tag === "NotApplied"
            ? longOrNull(raised.row?.get("last_slot"))
            : longOrNull(
                (yield* serialRow(session, "lastSlot", q.readLastSlot, [jobType], true))?.get("last_slot"),
              )
        if (current !== null && current >= slot) return
        if (current === null) {
          const inserted = yield* lwt(session, "lastSlot", q.insertLastSlot, [jobType, slot])
          if (inserted._tag === "Applied") return
        }
      }
      return yield* StoreError.of("lastSlot", `raising the last slot of ${jobType} did not settle`)
    })

  const claimSlot: LockRepository["Type"]["claimSlot"] = ({ jobType, slot, instance, claimId }) =>
    Effect.gen(function* () {
      let claimed = false
      // Coordinators that timed out: the next attempt and its read go to another node. A frozen or
      // just cut-off node is still "up" to the driver, which would pick it again one time in three
      // (RF 3), and a per-second slot has no time to lose.
      const avoid: Array<string> = []
      for (let attempt = 1; ; attempt++) {
        const outcome = yield* lwt(
          session,
          "claimSlot",
          q.claimSlot,
          [jobType, slot, instance, claimId, slotTtlSeconds],
          avoid,
        )
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
        const host = timedOutHost(outcome.failure)
        if (host !== undefined && !avoid.includes(host)) avoid.push(host)
        if (attempt >= MaxClaimAttempts)
          return yield* outcomeUnknown(
            "claimSlot",
            `the cron slot ${jobType}@${slot}`,
            outcome.failure,
            attempt,
          )
        yield* noteUnknown("claimSlot", `${jobType}@${slot}`, outcome.failure)
        const row = yield* serialRow(session, "claimSlot", q.readSlot, [jobType, slot], true, avoid)
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
    }).pipe(
      reportResolution("claimSlot", `${jobType}@${slot}`, (claimed) =>
        claimed ? "claimed" : "claimed-by-another",
      ),
    )

  // A hint reads what is committed on a quorum of replicas: a claim Paxos chose is committed before
  // its claimant is told, so a hint misses only claims still being decided.
  const slotClaim: LockRepository["Type"]["slotClaim"] = (jobType, slot, options) =>
    (options?.hint
      ? session.execute(q.readSlot, [jobType, slot], { idempotent: true }).pipe(
          Effect.map((rs) => rs.first() ?? undefined),
          StoreError.refail("slotClaim", describeFailure),
        )
      : serialRow(session, "slotClaim", q.readSlot, [jobType, slot], true)
    ).pipe(
      Effect.map((row) =>
        Option.map(Option.fromNullable(row), (r) => ({
          instance: String(r.get("instance")),
          claimId: Option.fromNullable(r.get("claim_id") as string | null),
        })),
      ),
    )

  const lastSlot: LockRepository["Type"]["lastSlot"] = (jobType) =>
    serialRow(session, "lastSlot", q.readLastSlot, [jobType], false).pipe(
      Effect.map((row) => Option.fromNullable(longOrNull(row?.get("last_slot")))),
    )

  // Pauses (migrations/cassandra/0005_pauses.cql): plain statements at the configured consistency,
  // idempotent (an upsert or a delete by key), so the driver may retry them and speculate.
  const plain = (operation: string, query: string, params: ReadonlyArray<unknown>) =>
    session.execute(query, params, { idempotent: true }).pipe(
      // Read before every trigger: when the coordinators the driver tried all timed out (one node
      // frozen or cut off, another slow to answer for it), once more through a node not tried yet.
      // A failed read fails the start, and a cron slot claimed but not started is not run again.
      Effect.catchAll((failure) => {
        const avoidHosts = timedOutHosts(failure)
        return avoidHosts.length === 0
          ? Effect.fail(failure)
          : session.execute(query, params, { idempotent: true, avoidHosts })
      }),
      StoreError.refail(operation, describeFailure),
    )

  const readPause = (operation: string, jobType: JobType) =>
    plain(operation, q.readPause, [jobType]).pipe(
      Effect.flatMap((rs) => pauseOf(operation, rs.first() ?? undefined)),
    )

  const pause: LockRepository["Type"]["pause"] = (p) =>
    Effect.gen(function* () {
      // Read just before the write, to tell what was replaced: informational, the write does not depend on it.
      const before = yield* readPause("pause", p.jobType)
      yield* plain("pause", q.pause, [
        p.jobType,
        p.note,
        p.by,
        p.instance,
        p.since,
        Option.getOrNull(p.until),
        p.blockManual,
      ])
      return before
    })

  const resume: LockRepository["Type"]["resume"] = (jobType) =>
    Effect.gen(function* () {
      const ended = yield* readPause("resume", jobType)
      yield* plain("resume", q.resume, [jobType])
      return ended
    })

  const paused: LockRepository["Type"]["paused"] = (jobType) => readPause("paused", jobType)

  return {
    acquire,
    renew,
    release,
    holder,
    lease,
    requestCancel,
    claimSlot,
    slotClaim,
    lastSlot,
    pause,
    resume,
    paused,
  }
}

const dateOrNull = (v: unknown): Date | null => (v instanceof Date ? v : null)

/** A job_pauses row as a Pause (none: no row); a row that does not decode is a StoreError. */
const pauseOf = (operation: string, row: Row | undefined): Effect.Effect<Option.Option<Pause>, StoreError> =>
  row === undefined
    ? Effect.succeed(Option.none())
    : Effect.try({
        try: () =>
          Option.some(
            new Pause({
              jobType: stringOrNull(row.get("job_type")) as JobType,
              note: stringOrNull(row.get("note")) ?? "",
              by: stringOrNull(row.get("paused_by")) ?? "",
              instance: stringOrNull(row.get("instance")) ?? "",
              since: dateOrNull(row.get("since")) as Date,
              until: Option.fromNullable(dateOrNull(row.get("until_at"))),
              blockManual: row.get("block_manual") === true,
            }),
          ),
        catch: (e) => StoreError.fromUnknown(operation, e),
      })
