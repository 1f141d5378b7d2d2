import { Duration, Effect, Layer, Option, Ref } from "effect"
import type { AuditEntry } from "../../domain/Audit.js"
import type { AuditId, EventId, HistoryCursor, JobId } from "../../domain/Ids.js"
import { InstanceRetentionMs, type InstanceSeen } from "../../domain/Instance.js"
import type { JobEvent } from "../../domain/JobEvent.js"
import type { JobStatus } from "../../domain/JobStatus.js"
import type { JobType, LockType } from "../../domain/Names.js"
import type { Pause } from "../../domain/Pause.js"
import {
  type AcquireResult,
  type LockHolder,
  LockRepository,
  type RenewResult,
} from "../../ports/LockRepository.js"
import { foreignCursor, type ListOptions, StatusRepository } from "../../ports/StatusRepository.js"
import { storeContext } from "../../ports/StoreProbe.js"

interface Lease extends LockHolder {
  readonly expiresAt: number
  readonly cancelRequested: boolean
}

interface LockRow {
  readonly lease: Lease | undefined
  /** Survives expiry and release, so tokens keep increasing. */
  readonly lastToken: number
}

interface Execution {
  readonly history: Array<JobStatus>
}

/**
 * An in-process store: the reference implementation of the store contract, and the test double.
 * Each run of this Effect is a new, empty store; nothing survives the process.
 */
export const make: Effect.Effect<{
  readonly lockRepository: LockRepository["Type"]
  readonly statusRepository: StatusRepository["Type"]
}> = Effect.gen(function* () {
  // The store keeps its own time, like a server: callers' clocks (even skewed ones) do not matter.
  const clock = yield* Effect.clock
  // Every map below is changed in place inside Ref.update / Ref.modify: the update function runs
  // synchronously, so each change is atomic in the one-threaded runtime. (They were copied on every
  // write: at 10,000 job types that was most of bench:scale's CPU.)
  const locks = yield* Ref.make(new Map<LockType, LockRow>())
  // jobType -> slot -> claimant
  const slots = yield* Ref.make(new Map<JobType, Map<number, { instance: string; claimId: string }>>())
  // jobType -> jobId -> history (oldest first)
  const statuses = yield* Ref.make(new Map<JobType, Map<JobId, Execution>>())
  // jobType -> its pause, kept until resumed (also past its `until`).
  const pauses = yield* Ref.make(new Map<JobType, Pause>())
  // The audit log by entry id (recording the same entry again keeps one).
  const audit = yield* Ref.make(new Map<AuditId, AuditEntry>())
  // Job events by job type, then id (recording the same event again keeps one).
  const events = yield* Ref.make(new Map<JobType, Map<EventId, JobEvent>>())
  // Instances by name: their last heartbeat.
  const seen = yield* Ref.make(new Map<string, InstanceSeen>())

  const live = (row: LockRow | undefined, now: number): Lease | undefined =>
    row?.lease !== undefined && row.lease.expiresAt > now ? row.lease : undefined

  const modifyLock = <A>(lockType: LockType, f: (row: LockRow, now: number) => readonly [A, LockRow]) =>
    Effect.flatMap(clock.currentTimeMillis, (now) =>
      Ref.modify(locks, (map) => {
        const [a, next] = f(map.get(lockType) ?? { lease: undefined, lastToken: 0 }, now)
        return [a, map.set(lockType, next)] as const
      }),
    )

  const lockRepository = LockRepository.of({
    acquire: ({ lockType, jobType, jobId, ttl }) =>
      modifyLock<AcquireResult>(lockType, (row, now) => {
        const current = live(row, now)
        if (current) return [{ _tag: "Held", holder: holderOf(current) }, row]
        const token = row.lastToken + 1
        const lease: Lease = {
          lockType,
          jobType,
          jobId,
          token,
          expiresAt: now + Duration.toMillis(ttl),
          cancelRequested: false,
        }
        return [
          { _tag: "Acquired", token },
          { lease, lastToken: token },
        ]
      }),
    renew: (key, ttl) =>
      modifyLock<RenewResult>(key.lockType, (row, now) => {
        const current = live(row, now)
        if (!current || current.jobId !== key.jobId || current.token !== key.token) return ["lost", row]
        if (current.cancelRequested) return ["cancel-requested", row]
        return ["renewed", { ...row, lease: { ...current, expiresAt: now + Duration.toMillis(ttl) } }]
      }),
    release: (key) =>
      modifyLock(key.lockType, (row, now) => {
        const current = live(row, now)
        if (!current || current.jobId !== key.jobId || current.token !== key.token) return [false, row]
        return [true, { ...row, lease: undefined }]
      }),
    holder: (lockType) =>
      Effect.flatMap(clock.currentTimeMillis, (now) =>
        Effect.map(Ref.get(locks), (map) =>
          Option.map(Option.fromNullable(live(map.get(lockType), now)), holderOf),
        ),
      ),
    lease: (lockType) =>
      Effect.flatMap(clock.currentTimeMillis, (now) =>
        Effect.map(Ref.get(locks), (map) =>
          Option.map(Option.fromNullable(live(map.get(lockType), now)), (lease) => ({
            holder: holderOf(lease),
            expiresInMs: lease.expiresAt - now,
          })),
        ),
      ),
    requestCancel: (lockType, jobType) =>
      modifyLock(lockType, (row, now) => {
        const current = live(row, now)
        if (!current || current.jobType !== jobType) return [Option.none(), row]
        return [Option.some(holderOf(current)), { ...row, lease: { ...current, cancelRequested: true } }]
      }),
    claimSlot: ({ jobType, slot, instance, claimId }) =>
      Ref.modify(slots, (map) => {
        const claimed = map.get(jobType) ?? new Map()
        const holder = claimed.get(slot)
        if (holder !== undefined) return [holder.claimId === claimId, map]
        return [true, map.set(jobType, claimed.set(slot, { instance, claimId }))]
      }),
    slotClaim: (jobType, slot) =>
      Effect.map(Ref.get(slots), (map) =>
        Option.map(Option.fromNullable(map.get(jobType)?.get(slot)), (c) => ({
          instance: c.instance,
          claimId: Option.some(c.claimId),
        })),
      ),
    lastSlot: (jobType) =>
      Effect.map(Ref.get(slots), (map) => {
        const claimed = [...(map.get(jobType)?.keys() ?? [])]
        return claimed.length === 0 ? Option.none() : Option.some(Math.max(...claimed))
      }),
    pause: (pause) =>
      Ref.modify(pauses, (map) => [
        Option.fromNullable(map.get(pause.jobType)),
        map.set(pause.jobType, pause),
      ]),
    resume: (jobType) =>
      Ref.modify(pauses, (map) => {
        const ended = map.get(jobType)
        if (ended === undefined) return [Option.none(), map]
        map.delete(jobType)
        return [Option.some(ended), map]
      }),
    paused: (jobType) => Effect.map(Ref.get(pauses), (map) => Option.fromNullable(map.get(jobType))),
  })

  const latestOf = (jobType: JobType, { limit, before }: ListOptions, keep: (latest: JobStatus) => boolean) =>
    Effect.map(Ref.get(statuses), (map) =>
      [...(map.get(jobType)?.entries() ?? [])]
        .filter(([jobId]) => before === undefined || jobId < before)
        .sort(([a], [b]) => (a < b ? 1 : a > b ? -1 : 0))
        .map(([, e]) => e.history[e.history.length - 1]!)
        .filter(keep)
        .slice(0, limit),
    )

  const statusRepository = StatusRepository.of({
    save: (status) =>
      Ref.update(statuses, (map) => {
        const executions = map.get(status.jobType) ?? new Map<JobId, Execution>()
        const execution = executions.get(status.jobId)
        if (execution === undefined) executions.set(status.jobId, { history: [status] })
        else execution.history.push(status)
        return map.set(status.jobType, executions)
      }),
    list: (jobType, options) => latestOf(jobType, options, () => true),
    listPending: (jobType, options) => latestOf(jobType, options, (s) => s.jobResult === "PENDING"),
    get: (jobType, jobId) =>
      Effect.map(Ref.get(statuses), (map) =>
        Option.fromNullable(map.get(jobType)?.get(jobId)?.history.at(-1)),
      ),
    // The cursor is an index into the execution's history, oldest first: appends never move it.
    history: (jobType, jobId, { limit, before }) =>
      Effect.gen(function* () {
        if (before !== undefined && !/^\d+$/.test(before)) return yield* foreignCursor(before)
        const end = before === undefined ? Number.POSITIVE_INFINITY : Number(before)
        const all = (yield* Ref.get(statuses)).get(jobType)?.get(jobId)?.history ?? []
        const upTo = Math.min(end, all.length)
        const from = Math.max(0, upTo - Math.max(0, Math.floor(limit)))
        return {
          statuses: all.slice(from, upTo).reverse(),
          next: from > 0 && upTo > from ? Option.some(String(from) as HistoryCursor) : Option.none(),
        }
      }),
    record: (entry) => Ref.update(audit, (map) => map.set(entry.id, entry)),
    auditLog: ({ jobType, limit, before }) =>
      Effect.map(Ref.get(audit), (map) =>
        [...map.values()]
          .filter(
            (e) =>
              (jobType === undefined || e.jobType === jobType) && (before === undefined || e.id < before),
          )
          .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
          .slice(0, Math.max(0, limit)),
      ),
    recordEvent: (event) =>
      Ref.update(events, (map) =>
        map.set(event.jobType, (map.get(event.jobType) ?? new Map<EventId, JobEvent>()).set(event.id, event)),
      ),
    announce: ({ instance, startedAt, everyMs }) =>
      Effect.flatMap(clock.currentTimeMillis, (now) =>
        Ref.update(seen, (map) => map.set(instance, { instance, startedAt, everyMs, seenAt: new Date(now) })),
      ),
    instances: Effect.flatMap(clock.currentTimeMillis, (now) =>
      Effect.map(Ref.get(seen), (map) => ({
        now: new Date(now),
        instances: [...map.values()]
          .filter((i) => now - i.seenAt.getTime() <= InstanceRetentionMs)
          .sort((a, b) => (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0)),
      })),
    ),
    events: ({ jobType, limit, before }) =>
      Effect.map(Ref.get(events), (map) =>
        [...(map.get(jobType)?.values() ?? [])]
          .filter((e) => before === undefined || e.id < before)
          .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
          .slice(0, Math.max(0, limit)),
      ),
  })

  return { lockRepository, statusRepository } as const
})

const holderOf = ({ lockType, jobType, jobId, token }: Lease): LockHolder => ({
  lockType,
  jobType,
  jobId,
  token,
})

/**
 * Both repositories on one in-memory store, new each time the layer is built. Build it once and
 * share it to simulate a cluster.
 */
export const layer: Layer.Layer<LockRepository | StatusRepository> = Layer.effectContext(
  Effect.map(make, (stores) => storeContext(stores, "in-memory store")),
)
