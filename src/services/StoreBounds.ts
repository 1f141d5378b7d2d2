import { Duration, Effect } from "effect"
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
 * is written for that (a late slot claim costs the slot, a late acquire is released or expires,
 * a late status write is superseded by the next one).
 */
export const DefaultStoreCallTimeout: Duration.Duration = Duration.seconds(10)

/** The error of a store call that did not answer within `timeout`. */
export const noAnswer = (operation: string, timeout: Duration.Duration): StoreError =>
  new StoreError({
    operation,
    message: `no answer from the store within ${Duration.format(timeout)}; check that it is reachable and not overloaded`,
  })

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

/** The lock port with every call bounded. */
export const boundLocks = (
  repo: LockRepository["Type"],
  timeout: Duration.Duration = DefaultStoreCallTimeout,
): LockRepository["Type"] =>
  LockRepository.of({
    acquire: (request) => bounded("acquire", timeout)(repo.acquire(request)),
    renew: (key, ttl) => bounded("renew", timeout)(repo.renew(key, ttl)),
    release: (key) => bounded("release", timeout)(repo.release(key)),
    holder: (lockType) => bounded("holder", timeout)(repo.holder(lockType)),
    requestCancel: (lockType, jobType) =>
      bounded("requestCancel", timeout)(repo.requestCancel(lockType, jobType)),
    claimSlot: (claim) => bounded("claimSlot", timeout)(repo.claimSlot(claim)),
    lastSlot: (jobType) => bounded("lastSlot", timeout)(repo.lastSlot(jobType)),
  })

/** The status port with every call bounded. */
export const boundStatuses = (
  repo: StatusRepository["Type"],
  timeout: Duration.Duration = DefaultStoreCallTimeout,
): StatusRepository["Type"] =>
  StatusRepository.of({
    save: (status) => bounded("save", timeout)(repo.save(status)),
    list: (jobType, options) => bounded("list", timeout)(repo.list(jobType, options)),
    get: (jobType, jobId) => bounded("get", timeout)(repo.get(jobType, jobId)),
    history: (jobType, jobId, limit) => bounded("history", timeout)(repo.history(jobType, jobId, limit)),
    listPending: (jobType, options) => bounded("listPending", timeout)(repo.listPending(jobType, options)),
  })
