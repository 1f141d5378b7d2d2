import {
  Cause,
  Clock,
  Context,
  Deferred,
  Duration,
  Effect,
  Either,
  Exit,
  Fiber,
  Layer,
  Metric,
  Option,
  Ref,
  type Scope,
} from "effect"
import { failureMessage, type StoreError } from "../domain/Errors.js"
import type { JobId } from "../domain/Ids.js"
import type { LeaseTiming } from "../domain/LeaseTiming.js"
import * as JobMetrics from "../domain/Metrics.js"
import type { JobType, LockType } from "../domain/Names.js"
import {
  type AcquireResult,
  type LeaseKey,
  type LockHolder,
  LockRepository,
} from "../ports/LockRepository.js"
import { bounded, boundLocks, noAnswer } from "../ports/StoreBounds.js"

/** Why a lease stopped being trustworthy. */
export interface LeaseLoss {
  /**
   * "rejected": a renewal found the lease gone; "deadline": no renewal confirmed in time; "keeper":
   * the keeper fiber died or was stopped by something other than `release`, so nobody would enforce
   * the deadline any more (a defect in a renewal, a driver bug).
   */
  readonly reason: "rejected" | "deadline" | "keeper"
  /** For "keeper": what ended it. */
  readonly message?: string | undefined
}

export interface HeldLease {
  readonly key: LeaseKey
  /** Completes when the lease is lost; the holder must stop at once. */
  readonly lost: Effect.Effect<LeaseLoss>
  /** Completes when a renewal reported a cancel request made through the store. */
  readonly cancelRequested: Effect.Effect<void>
  /** The local deadline, in monotonic milliseconds. */
  readonly deadline: Effect.Effect<number>
  /** Stops the keeper and frees the lock, unless it was lost (then it is not ours to free). */
  readonly release: Effect.Effect<boolean, StoreError>
}

export type LeaseAcquisition =
  | { readonly _tag: "Acquired"; readonly lease: HeldLease }
  | { readonly _tag: "Held"; readonly holder: LockHolder }

/**
 * Scoped leases with a keeper fiber. The keeper lives in the lease's scope; closing the scope stops
 * it and releases the lock if it is still ours.
 */
export class Lease extends Context.Tag("effect-ha-jobs/Lease")<
  Lease,
  {
    /**
     * Asks the store for the lock, waiting at most `timeout` (default: the store call bound) for its
     * answer. An answer that comes later is never used: a late "Acquired" is released at once.
     */
    readonly acquire: (
      request: { readonly lockType: LockType; readonly jobType: JobType; readonly jobId: JobId },
      timing: LeaseTiming,
      options?: { readonly timeout?: Duration.Duration | undefined },
    ) => Effect.Effect<LeaseAcquisition, StoreError, Scope.Scope>
  }
>() {}

/** How long a start waits for the store to grant a lock, unless the caller says otherwise. */
export const DefaultAcquireTimeout: Duration.Duration = Duration.seconds(10)

const deadlineLoss: LeaseLoss = { reason: "deadline" }
const rejectedLoss: LeaseLoss = { reason: "rejected" }

// Monotonic milliseconds: Effect's live clock derives nanos from performance.now().
export const monotonicMillis = Effect.map(Clock.currentTimeNanos, (n) => Number(n / 1_000_000n))

const keeperLoss = (cause: Cause.Cause<unknown>): LeaseLoss => ({
  reason: "keeper",
  message: Cause.isInterruptedOnly(cause)
    ? "the lease keeper was interrupted before the lease was released"
    : failureMessage(cause),
})

export const make = Effect.gen(function* () {
  const raw = yield* LockRepository
  const repo = boundLocks(raw)

  /** A late answer to an abandoned acquire: if it won the lock, give it back (else it expires). */
  const abandon = (
    attempt: Fiber.Fiber<AcquireResult, StoreError>,
    request: { readonly lockType: LockType; readonly jobId: JobId },
  ) =>
    Fiber.await(attempt).pipe(
      Effect.flatMap(
        (exit): Effect.Effect<unknown, StoreError> =>
          Exit.isSuccess(exit) && exit.value._tag === "Acquired"
            ? Effect.zipRight(
                Effect.logWarning("the store granted a lock after the start timed out; releasing it"),
                repo.release({ ...request, token: exit.value.token }),
              )
            : Effect.void,
      ),
      Effect.catchAllCause(() => Effect.logWarning("could not release a late lock; it expires at its ttl")),
      Effect.annotateLogs({ lockType: request.lockType, jobId: request.jobId }),
      Effect.forkDaemon,
    )

  const acquire = (
    request: { readonly lockType: LockType; readonly jobType: JobType; readonly jobId: JobId },
    timing: LeaseTiming,
    options: { readonly timeout?: Duration.Duration | undefined } = {},
  ): Effect.Effect<LeaseAcquisition, StoreError, Scope.Scope> =>
    Effect.gen(function* () {
      const sentAt = yield* monotonicMillis
      const timeout = options.timeout ?? DefaultAcquireTimeout
      // The call runs on its own fiber so that giving up on it leaves a way to hear its late answer;
      // after the ttl a late grant would have expired anyway, so that is its outer bound.
      const attempt = yield* raw
        .acquire({ ...request, ttl: timing.ttl })
        .pipe(bounded("acquire", Duration.sum(timeout, timing.ttl)), Effect.forkDaemon)
      const answer = yield* Fiber.join(attempt).pipe(
        Effect.timeoutOption(timeout),
        Effect.onInterrupt(() => abandon(attempt, request)),
      )
      if (Option.isNone(answer)) {
        yield* abandon(attempt, request)
        return yield* Effect.fail(noAnswer("acquire", timeout))
      }
      const result = answer.value
      if (result._tag === "Held") return result
      const key: LeaseKey = { lockType: request.lockType, jobId: request.jobId, token: result.token }
      const ttlMs = Duration.toMillis(timing.ttl)
      const marginMs = Duration.toMillis(timing.margin)
      const lost = yield* Deferred.make<LeaseLoss>()
      const cancelRequested = yield* Deferred.make<void>()
      const deadline = yield* Ref.make(sentAt + ttlMs - marginMs)
      const released = yield* Ref.make(false)

      const lose = (loss: LeaseLoss) =>
        Effect.zipRight(
          Metric.increment(
            Metric.tagged(
              Metric.tagged(JobMetrics.leaseLosses, "lock_type", key.lockType),
              "reason",
              loss.reason,
            ),
          ),
          Deferred.succeed(lost, loss),
        )

      // Hand-written, not a Schedule: each wait depends on the previous renewal's *send* time (the
      // next is due renewEvery/retryEvery after it, and never after the local deadline), and the
      // deadline itself is sent + ttl - margin of the last confirmed renewal, which also bounds the
      // call. A Schedule sees only when an attempt ended and what it returned, so it would measure
      // from the answer: a slow answer would push the deadline past what the store grants.
      const keeper = Effect.gen(function* () {
        let nextAt = sentAt + Duration.toMillis(timing.renewEvery)
        while (true) {
          const due = Math.min(nextAt, yield* Ref.get(deadline))
          const now = yield* monotonicMillis
          if (due > now) yield* Effect.sleep(Duration.millis(due - now))
          const sent = yield* monotonicMillis
          const remaining = (yield* Ref.get(deadline)) - sent
          if (remaining <= 0) return yield* lose(deadlineLoss)
          const outcome = yield* repo
            .renew(key, timing.ttl)
            .pipe(Effect.either, Effect.timeoutOption(Duration.millis(remaining)))
          if (Option.isNone(outcome)) return yield* lose(deadlineLoss)
          const renewal = outcome.value
          yield* Metric.update(
            Metric.tagged(JobMetrics.renewalLatency, "lock_type", key.lockType),
            (yield* monotonicMillis) - sent,
          )
          if (Either.isLeft(renewal)) {
            yield* Effect.logWarning("lease renewal failed; retrying until the local deadline").pipe(
              Effect.annotateLogs({ lockType: key.lockType, jobId: key.jobId, error: renewal.left.message }),
            )
            nextAt = sent + Duration.toMillis(timing.retryEvery)
            continue
          }
          switch (renewal.right) {
            case "lost":
              return yield* lose(rejectedLoss)
            case "cancel-requested":
              yield* Deferred.succeed(cancelRequested, undefined)
              break
            case "renewed":
              yield* Ref.set(deadline, sent + ttlMs - marginMs)
              break
          }
          nextAt = sent + Duration.toMillis(timing.renewEvery)
        }
      })
      // The keeper ending any other way than through `release` leaves nobody to enforce the
      // deadline: that is a lease loss, so the job is interrupted at once (never left running).
      const guarded = keeper.pipe(
        Effect.onExit((exit) =>
          Exit.isSuccess(exit)
            ? Effect.void
            : Effect.flatMap(Ref.get(released), (r) => (r ? Effect.void : lose(keeperLoss(exit.cause)))),
        ),
      )
      const keeperFiber = yield* Effect.forkScoped(guarded)

      const release = Effect.gen(function* () {
        if (yield* Ref.getAndSet(released, true)) return false
        yield* Fiber.interrupt(keeperFiber)
        if (yield* Deferred.isDone(lost)) return false
        return yield* repo.release(key)
      })
      yield* Effect.addFinalizer(() =>
        release.pipe(
          Effect.catchAll((e) =>
            Effect.logWarning("lease release failed; the lock expires at its ttl").pipe(
              Effect.annotateLogs({ lockType: key.lockType, jobId: key.jobId, error: e.message }),
              Effect.as(false),
            ),
          ),
        ),
      )

      const lease: HeldLease = {
        key,
        lost: Deferred.await(lost),
        cancelRequested: Deferred.await(cancelRequested),
        deadline: Ref.get(deadline),
        release,
      }
      return { _tag: "Acquired", lease } as const
    })

  return Lease.of({ acquire })
})

export const layer: Layer.Layer<Lease, never, LockRepository> = Layer.effect(Lease, make)
