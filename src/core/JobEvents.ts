/**
 * src/core (docs/architecture.md). This module: the instance's writer of job events (JobEvent) —
 * decisions about slots and triggers that are not executions, made visible in the API.
 *
 * Many of them happen because the store is unreachable (a slot given up in an outage), so an event
 * is not written where it happens: it waits in memory and a background fiber writes what waits
 * every second, keeping it until the store takes it. A decision equal to the job type's newest event
 * (same kind and reason, within CoalesceWindow of its last occurrence) grows that event instead of
 * adding one: it is written again under the same id with a higher count, so an hour-long outage of a
 * per-second job is one event, not 3,600. At most MaxPendingEvents wait; past that the oldest are
 * dropped, and counted.
 */
import { Clock, Effect, Exit, Metric, Queue, type Scope } from "effect"
import { failureMessage } from "../domain/Errors.js"
import type { EventId } from "../domain/Ids.js"
import { makeEventId } from "../domain/Ids.js"
import { JobEvent, type JobEventKind, MaxEventReasonBytes } from "../domain/JobEvent.js"
import * as JobMetrics from "../domain/Metrics.js"
import type { JobType } from "../domain/Names.js"
import type { StatusRepository } from "../ports/StatusRepository.js"
import { truncateUtf8 } from "./Text.js"

/** What a decision site reports; `at` is the slot concerned (epoch ms), or now when none. */
export interface EventInput {
  readonly jobType: JobType
  readonly kind: JobEventKind
  readonly reason: string
  readonly at?: number | undefined
}

export interface JobEventLog {
  /** Queues the event (never fails, never waits for the store). */
  readonly emit: (event: EventInput) => Effect.Effect<void>
  /** Writes what waits, in order, until the store refuses one; what is left waits for the next. */
  readonly flush: Effect.Effect<void>
  /** Events waiting to be written, and how many were dropped because too many waited. */
  readonly backlog: Effect.Effect<{ readonly pending: number; readonly dropped: number }>
}

/** Events waiting for the store at most; an outage long enough to exceed it loses the oldest. */
export const MaxPendingEvents = 1000

/**
 * Every kind but `overlap`: an overlapped slot is accounted for one by one (a slot runs or is an
 * overlap, once — what the chaos checker counts); overlaps happen while the store answers, so they
 * do not pile up in an outage, and a long run blocks one slot per period.
 */
const coalesces = (kind: JobEventKind) => kind !== "overlap"

/** An equal decision this long after the newest event's last occurrence still grows that event. */
export const CoalesceWindowMs = 10 * 60_000

interface Pending {
  readonly id: EventId
  readonly jobType: JobType
  readonly kind: JobEventKind
  readonly reason: string
  count: number
  from: number
  to: number
  /** In the queue (again): a later occurrence re-queues a written event rather than adding one. */
  queued: boolean
}

/**
 * The log of `instance`, writing through `statuses` (bounded calls). Flushes every second in the
 * scope, and once more when the scope closes.
 */
export const make = (
  statuses: StatusRepository["Type"],
  instance: string,
): Effect.Effect<JobEventLog, never, Scope.Scope> =>
  Effect.gen(function* () {
    const pending: Array<Pending> = []
    // The newest event of each job type, written or not: the one an equal decision grows.
    const newest = new Map<JobType, Pending>()
    let dropped = 0
    let failing = false

    const wake = yield* Queue.sliding<void>(1)
    const enqueue = (p: Pending) =>
      Effect.suspend(() => {
        p.queued = true
        pending.push(p)
        Queue.unsafeOffer(wake, undefined)
        if (pending.length <= MaxPendingEvents) return Effect.void
        pending.shift()!.queued = false
        dropped++
        return Metric.increment(JobMetrics.eventsDropped)
      })

    const emit = (input: EventInput) =>
      Effect.gen(function* () {
        const at = input.at ?? (yield* Clock.currentTimeMillis)
        const reason = truncateUtf8(input.reason, MaxEventReasonBytes)
        const last = newest.get(input.jobType)
        if (
          coalesces(input.kind) &&
          last !== undefined &&
          last.kind === input.kind &&
          last.reason === reason &&
          at - last.to <= CoalesceWindowMs
        ) {
          last.count++
          // Slots fire on their own fibers: after a stall they may be decided out of order.
          last.from = Math.min(last.from, at)
          last.to = Math.max(last.to, at)
          if (!last.queued) yield* enqueue(last)
          return
        }
        const p: Pending = {
          id: yield* makeEventId,
          jobType: input.jobType,
          kind: input.kind,
          reason,
          count: 1,
          from: at,
          to: at,
          queued: false,
        }
        newest.set(input.jobType, p)
        yield* enqueue(p)
      })

    // One flush at a time (the loop's and the closing one): an older count never overwrites a newer.
    const oneAtATime = yield* Effect.makeSemaphore(1)
    const flush = Effect.gen(function* () {
      while (pending.length > 0) {
        // Taken out while written: an equal decision meanwhile queues it again (written once more).
        const p = pending.shift()!
        p.queued = false
        const event = new JobEvent({
          id: p.id,
          at: new Date(yield* Clock.currentTimeMillis),
          jobType: p.jobType,
          kind: p.kind,
          instance,
          reason: p.reason,
          count: p.count,
          from: new Date(p.from),
          to: new Date(p.to),
        })
        // A defect (a throw in row mapping) keeps the event waiting too, like a StoreError.
        const written = yield* Effect.exit(statuses.recordEvent(event))
        if (Exit.isFailure(written)) {
          if (!p.queued) {
            p.queued = true
            pending.unshift(p)
          }
          if (!failing)
            yield* Effect.logWarning("job events wait in memory: the store did not take them").pipe(
              Effect.annotateLogs({ pending: pending.length, error: failureMessage(written.cause) }),
            )
          failing = true
          return
        }
      }
      failing = false
    }).pipe(
      Effect.catchAllCause((cause) => Effect.logError("writing job events failed", cause)),
      oneAtATime.withPermits(1),
    )

    // Wakes only when something waits (no timer while idle: a TestClock jumping days stays cheap),
    // writes a second later (equal decisions meanwhile coalesce first), and again a second after a
    // failed write, until the queue is empty.
    const loop = Effect.gen(function* () {
      while (true) {
        yield* Queue.take(wake)
        yield* Effect.sleep("1 second")
        yield* flush
        if (pending.length > 0) yield* Queue.offer(wake, undefined)
      }
    })
    yield* Effect.forkScoped(loop)
    yield* Effect.addFinalizer(() => flush)
    return {
      emit,
      flush,
      backlog: Effect.sync(() => ({ pending: pending.length, dropped })),
    }
  })
