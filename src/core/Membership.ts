/**
 * src/core (docs/architecture.md). This module: who is in the cluster — each instance announces
 * itself in the store every `heartbeatEvery` (default 10 s, a default lease's renewal interval), and
 * `view` tells which instances are alive (one not seen for GoneAfterBeats of its intervals is gone),
 * and which instance holds which lock right now with its lease's time left.
 *
 * Leases and slot claims alone decide who runs. Membership decides only who *tries first*: after
 * each heartbeat the instance reads the live set (`live`), from which the scheduler picks each job
 * type's preferred firer (Rendezvous.ts), so a slot costs one conditional write instead of one per
 * instance. A stale or empty set costs writes or a second of lag, never a second run. For operators
 * it is GET /instances and the dashboard's overview; a failed heartbeat or read is logged at debug
 * level only (the store's health is reported by /health) and the loop goes on.
 */
import { Context, Duration, Effect, Layer, Option, Ref, Schedule } from "effect"
import type { StoreError } from "../domain/Errors.js"
import { type InstanceSeen, isGone } from "../domain/Instance.js"
import type { JobType, LockType } from "../domain/Names.js"
import { LockRepository } from "../ports/LockRepository.js"
import { StatusRepository } from "../ports/StatusRepository.js"
import { boundLocks, boundStatuses } from "../ports/StoreBounds.js"
import { JobManager } from "./JobManager.js"

export interface MembershipOptions {
  /** How often this instance announces itself. Defaults to 10 seconds. */
  readonly heartbeatEvery?: Duration.DurationInput | undefined
  /** false: no heartbeat (this instance is not listed; `view` still reads the others). Default true. */
  readonly enabled?: boolean | undefined
}

export const DefaultHeartbeatEvery = Duration.seconds(10)

export interface InstanceView extends InstanceSeen {
  /** Not seen for GoneAfterBeats of its own intervals, by the store's clock. */
  readonly gone: boolean
  /** The instance answering. */
  readonly self: boolean
}

export interface HeldLock {
  readonly lockType: LockType
  readonly jobType: JobType
  readonly jobId: string
  readonly token: number
  /** The instance running the holding execution, as its status says (none: not written yet). */
  readonly instance: Option.Option<string>
  /** The lease's time left by the store's clock. */
  readonly expiresInMs: number
}

export interface ClusterView {
  /** The store's time of the reading. */
  readonly now: Date
  readonly instances: ReadonlyArray<InstanceView>
  /** The lock types of this instance's jobs that are held now. */
  readonly locks: ReadonlyArray<HeldLock>
}

export class Membership extends Context.Tag("effect-ha-jobs/Membership")<
  Membership,
  {
    readonly heartbeatEvery: Duration.Duration
    /** Reads the instances' heartbeats and the holders of this instance's lock types. */
    readonly view: Effect.Effect<ClusterView, StoreError>
    /**
     * The instances alive at the last heartbeat's read, sorted by name (a new array each time it
     * changes); empty until the first read and while heartbeats are off.
     */
    readonly live: Effect.Effect<ReadonlyArray<string>>
  }
>() {}

export const make = (options: MembershipOptions = {}) =>
  Effect.gen(function* () {
    const manager = yield* JobManager
    const statuses = boundStatuses(yield* StatusRepository)
    const locks = boundLocks(yield* LockRepository)
    const every = Duration.decode(options.heartbeatEvery ?? DefaultHeartbeatEvery)
    const startedAt = new Date(yield* Effect.clockWith((c) => c.currentTimeMillis))
    const lockTypes = [
      ...new Set(
        (yield* Effect.forEach(manager.jobTypes, (t) => manager.job(t)).pipe(Effect.orDie)).map(
          (j) => j.lockType,
        ),
      ),
    ]

    const live = yield* Ref.make<ReadonlyArray<string>>([])
    const announce = statuses
      .announce({ instance: manager.instance, startedAt, everyMs: Duration.toMillis(every) })
      .pipe(Effect.catchAll((e) => Effect.logDebug(`heartbeat not written: ${e.message}`)))
    // A failed read keeps the last set: stale, it costs extra claims or a handoff delay, no more.
    const readLive = statuses.instances.pipe(
      Effect.flatMap(({ now, instances }) => {
        const names = instances.filter((i) => !isGone(i, now)).map((i) => i.instance)
        names.sort()
        return Ref.update(live, (old) =>
          old.length === names.length && old.every((n, i) => n === names[i]) ? old : names,
        )
      }),
      Effect.catchAll((e) => Effect.logDebug(`live instances not read: ${e.message}`)),
    )
    if (options.enabled !== false)
      yield* Effect.forkScoped(Effect.repeat(Effect.zipRight(announce, readLive), Schedule.spaced(every)))

    const view: Effect.Effect<ClusterView, StoreError> = Effect.gen(function* () {
      const seen = yield* statuses.instances
      const held = yield* Effect.forEach(
        lockTypes,
        (lockType) =>
          Effect.flatMap(locks.lease(lockType), (lease) =>
            Option.match(lease, {
              onNone: () => Effect.succeed([]),
              onSome: ({ holder, expiresInMs }) =>
                Effect.map(
                  statuses.get(holder.jobType, holder.jobId),
                  (status): Array<HeldLock> => [
                    {
                      ...holder,
                      instance: Option.flatMap(status, (s) => Option.fromNullable(s.instance)),
                      expiresInMs,
                    },
                  ],
                ),
            }),
          ),
        { concurrency: 4 },
      )
      return {
        now: seen.now,
        instances: seen.instances.map((i) => ({
          ...i,
          gone: isGone(i, seen.now),
          self: i.instance === manager.instance,
        })),
        locks: held.flat(),
      }
    })

    return Membership.of({ heartbeatEvery: every, view, live: Ref.get(live) })
  })

export const layer = (
  options: MembershipOptions = {},
): Layer.Layer<Membership, never, JobManager | StatusRepository | LockRepository> =>
  Layer.scoped(Membership, make(options))
