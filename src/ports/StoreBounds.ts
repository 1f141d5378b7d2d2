import { Context, Duration, Effect, Option } from "effect"
import { StoreError } from "../domain/Errors.js"
import { LockRepository } from "./LockRepository.js"
import { StatusRepository } from "./StatusRepository.js"

/**
 * Every store call the library makes has a bound (DESIGN property 12): a connection that hangs
 * (a frozen node, a held SQLite lock, a lost packet) must delay only its own call, never a loop, a
 * trigger or an HTTP request for good. A call that does not answer in time fails with a StoreError,
 * which every caller already handles as "the store is unavailable".
 *
 * Interrupting the call does not undo it: a write may still land after the timeout. Each caller
 * is written for that (a slot claim cut off is resolved by reading who holds the slot, a late acquire is released or expires,
 * a late status write is superseded by the next one).
 */
export const DefaultStoreCallTimeout: Duration.Duration = Duration.seconds(10)

const noAnswerPrefix = "no answer from the store within "

/** The error of a store call that did not answer within `timeout`. */
export const noAnswer = (operation: string, timeout: Duration.Duration): StoreError =>
  StoreError.of(
    operation,
    `${noAnswerPrefix}${Duration.format(timeout)}; check that it is reachable and not overloaded`,
  )

/** Whether a StoreError is `noAnswer`'s: the call was cut off at its bound, its outcome unknown. */
export const isNoAnswer = (error: StoreError): boolean => error.message.startsWith(noAnswerPrefix)

/** Fails `effect` with a StoreError naming `operation` when it has not answered within `timeout`. */
export const bounded =
  (operation: string, timeout: Duration.Duration) =>
  <A, R>(effect: Effect.Effect<A, StoreError, R>): Effect.Effect<A, StoreError, R> =>
    // Interruptible even inside an uninterruptible region (a start, a finalizer releasing a lease):
    // otherwise the timeout would wait for the very call it is meant to give up on.
    Effect.timeoutFail(Effect.interruptible(effect), {
      duration: timeout,
      onTimeout: () => noAnswer(operation, timeout),
    })

/**
 * A caller's bound on how long a store call may wait for a lock another process holds (SQLite's
 * write lock) before failing; stores that wait for such locks honour it when it is shorter than
 * their own. /health sets it below its answer time, so a held lock is reported as the lock
 * ("database is locked"), not as a timeout.
 */
export class LockWait extends Context.Reference<LockWait>()("effect-ha-jobs/LockWait", {
  defaultValue: () => Option.none<Duration.Duration>(),
}) {}

/** What to do around one store call, given the port method's name. */
export type AroundCall = (
  operation: string,
) => <A>(effect: Effect.Effect<A, StoreError>) => Effect.Effect<A, StoreError>

/** The lock port with `around` applied to every call. */
export const mapLocks = (repo: LockRepository["Type"], around: AroundCall): LockRepository["Type"] =>
  LockRepository.of({
    acquire: (request) => around("acquire")(repo.acquire(request)),
    renew: (key, ttl) => around("renew")(repo.renew(key, ttl)),
    release: (key) => around("release")(repo.release(key)),
    holder: (lockType) => around("holder")(repo.holder(lockType)),
    lease: (lockType) => around("lease")(repo.lease(lockType)),
    requestCancel: (lockType, jobType) => around("requestCancel")(repo.requestCancel(lockType, jobType)),
    claimSlot: (claim) => around("claimSlot")(repo.claimSlot(claim)),
    slotClaim: (jobType, slot, options) => around("slotClaim")(repo.slotClaim(jobType, slot, options)),
    lastSlot: (jobType) => around("lastSlot")(repo.lastSlot(jobType)),
    pause: (pause) => around("pause")(repo.pause(pause)),
    resume: (jobType) => around("resume")(repo.resume(jobType)),
    paused: (jobType) => around("paused")(repo.paused(jobType)),
  })

/** The status port with `around` applied to every call. */
export const mapStatuses = (repo: StatusRepository["Type"], around: AroundCall): StatusRepository["Type"] =>
  StatusRepository.of({
    save: (status) => around("save")(repo.save(status)),
    list: (jobType, options) => around("list")(repo.list(jobType, options)),
    get: (jobType, jobId) => around("get")(repo.get(jobType, jobId)),
    // `around` knows store errors only: a refused cursor passes through it as a value.
    history: (jobType, jobId, options) =>
      around("history")(Effect.either(repo.history(jobType, jobId, options))).pipe(
        Effect.flatMap((page) => page),
      ),
    listPending: (jobType, options) => around("listPending")(repo.listPending(jobType, options)),
    record: (entry) => around("record")(repo.record(entry)),
    auditLog: (options) => around("auditLog")(repo.auditLog(options)),
    recordEvent: (event) => around("recordEvent")(repo.recordEvent(event)),
    announce: (beat) => around("announce")(repo.announce(beat)),
    instances: around("instances")(repo.instances),
    events: (options) => around("events")(repo.events(options)),
  })

/** The lock port with every call bounded. */
export const boundLocks = (
  repo: LockRepository["Type"],
  timeout: Duration.Duration = DefaultStoreCallTimeout,
): LockRepository["Type"] => mapLocks(repo, (operation) => bounded(operation, timeout))

/** The status port with every call bounded. */
export const boundStatuses = (
  repo: StatusRepository["Type"],
  timeout: Duration.Duration = DefaultStoreCallTimeout,
): StatusRepository["Type"] => mapStatuses(repo, (operation) => bounded(operation, timeout))
