import { Duration, Effect } from "effect"
import { LockRepository } from "../../src/services/LockRepository.js"
import { StatusRepository } from "../../src/services/StatusRepository.js"
import type { Stores } from "./harness.js"

/** Every method of both store ports: the fault matrix covers each of them. */
export const lockMethods = [
  "acquire",
  "renew",
  "release",
  "holder",
  "requestCancel",
  "claimSlot",
  "lastSlot",
] as const
export const statusMethods = ["save", "list", "get", "history", "listPending"] as const
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
  readonly times?: number
  readonly lateBy?: Duration.DurationInput
}

/**
 * A test double around any store: arm a fault on a method and its next calls hang, die or answer
 * late. Unit tests of our own logic only; the stores themselves are tested by the store contract.
 */
export const makeFaultyStore = (inner: Stores) => {
  const armed = new Map<Method, { fault: Fault; left: number }>()
  const hits: Array<{ readonly method: Method; readonly mode: FaultMode }> = []

  const wrap =
    (method: Method) =>
    <A, E, R>(call: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.suspend(() => {
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

  const l = inner.lockRepository
  const s = inner.statusRepository
  const stores: Stores = {
    lockRepository: LockRepository.of({
      acquire: (r) => wrap("acquire")(l.acquire(r)),
      renew: (k, t) => wrap("renew")(l.renew(k, t)),
      release: (k) => wrap("release")(l.release(k)),
      holder: (t) => wrap("holder")(l.holder(t)),
      requestCancel: (t, j) => wrap("requestCancel")(l.requestCancel(t, j)),
      claimSlot: (c) => wrap("claimSlot")(l.claimSlot(c)),
      lastSlot: (j) => wrap("lastSlot")(l.lastSlot(j)),
    }),
    statusRepository: StatusRepository.of({
      save: (x) => wrap("save")(s.save(x)),
      list: (j, o) => wrap("list")(s.list(j, o)),
      get: (j, id) => wrap("get")(s.get(j, id)),
      history: (j, id, n) => wrap("history")(s.history(j, id, n)),
      listPending: (j, o) => wrap("listPending")(s.listPending(j, o)),
    }),
  }
  return {
    stores,
    /** The next `times` calls of `method` misbehave. */
    arm: (method: Method, fault: Fault) =>
      Effect.sync(() => armed.set(method, { fault, left: fault.times ?? 1 })),
    /** Which armed calls were hit so far (a case whose fault was never hit proves nothing). */
    hits: Effect.sync(() => [...hits]),
  } as const
}
