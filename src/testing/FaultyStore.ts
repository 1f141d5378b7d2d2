import { Duration, Effect } from "effect"
import * as StoreBounds from "../ports/StoreBounds.js"
import type { Stores } from "./Stores.js"

/** Every method of both store ports. */
export const lockMethods = [
  "acquire",
  "renew",
  "release",
  "holder",
  "requestCancel",
  "claimSlot",
  "slotClaim",
  "lastSlot",
  "pause",
  "resume",
  "paused",
] as const
export const statusMethods = [
  "save",
  "list",
  "get",
  "history",
  "listPending",
  "record",
  "auditLog",
  "recordEvent",
  "events",
] as const
export type Method = (typeof lockMethods)[number] | (typeof statusMethods)[number]

/**
 * What an armed call does instead of answering: "hang" never answers; "die" is a defect (a throw in
 * row mapping, a driver bug), not a StoreError; "late" is applied by the store at once but answered
 * only after `lateBy` (the answer lost in a frozen connection that comes back).
 */
export type FaultMode = "hang" | "die" | "late"

export interface Fault {
  readonly mode: FaultMode
  /** How many calls it hits (default 1). */
  readonly times?: number | undefined
  /** For "late": how late (default 30 seconds). */
  readonly lateBy?: Duration.DurationInput | undefined
}

export interface FaultyStore {
  /** The wrapped store: give these to the instances under test. */
  readonly stores: Stores
  /** The next `times` calls of `method` misbehave. */
  readonly arm: (method: Method, fault: Fault) => Effect.Effect<void>
  /** The armed calls hit so far: a test whose fault was never hit proves nothing. */
  readonly hits: Effect.Effect<ReadonlyArray<{ readonly method: Method; readonly mode: FaultMode }>>
}

/**
 * Any store with faults on chosen calls, to test what your service does when the store hangs,
 * breaks or answers late. The library bounds every store call (10 s, then a StoreError), so a hung
 * call shows as a "store unavailable" failure after that much (test) time.
 */
export const make = (inner: Stores): FaultyStore => {
  const armed = new Map<Method, { fault: Fault; left: number }>()
  const hits: Array<{ readonly method: Method; readonly mode: FaultMode }> = []
  const around: StoreBounds.AroundCall = (operation) => (call) =>
    Effect.suspend(() => {
      const method = operation as Method
      const a = armed.get(method)
      if (a === undefined || a.left <= 0) return call
      a.left--
      hits.push({ method, mode: a.fault.mode })
      switch (a.fault.mode) {
        case "hang":
          return Effect.never
        case "die":
          return Effect.die(new Error(`injected defect in ${method}`))
        case "late":
          return Effect.zipLeft(call, Effect.sleep(Duration.decode(a.fault.lateBy ?? "30 seconds")))
      }
    })
  return {
    stores: {
      lockRepository: StoreBounds.mapLocks(inner.lockRepository, around),
      statusRepository: StoreBounds.mapStatuses(inner.statusRepository, around),
    },
    arm: (method, fault) => Effect.sync(() => void armed.set(method, { fault, left: fault.times ?? 1 })),
    hits: Effect.sync(() => [...hits]),
  }
}
