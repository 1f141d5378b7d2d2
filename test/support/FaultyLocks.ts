import { type Duration, Effect, Layer, Ref } from "effect"
import { StoreError } from "../../src/domain/Errors.js"
import { LockRepository } from "../../src/ports/LockRepository.js"
import { StatusRepository } from "../../src/ports/StatusRepository.js"
import * as MemoryStore from "../../src/stores/memory/MemoryStore.js"

/** What the wrapped lock store does with renewals. */
export type RenewMode =
  | { readonly _tag: "pass" }
  | { readonly _tag: "fail" }
  | { readonly _tag: "hang" }
  | { readonly _tag: "delay"; readonly latency: Duration.DurationInput }
  /** The whole link is dead: every operation hangs, not only renewals. */
  | { readonly _tag: "down" }

export interface Call {
  readonly op:
    | "acquire"
    | "renew"
    | "release"
    | "holder"
    | "lease"
    | "requestCancel"
    | "claimSlot"
    | "slotClaim"
    | "lastSlot"
    | "pause"
    | "resume"
    | "paused"
  readonly at: number
}

/**
 * A test double around the memory store: records every lock-store call with its (test) time and
 * can make renewals fail, hang or be slow. Unit tests of our own logic only.
 */
export const makeFaultyLocks = Effect.gen(function* () {
  const { lockRepository: inner, statusRepository } = yield* MemoryStore.make
  const calls = yield* Ref.make<ReadonlyArray<Call>>([])
  const mode = yield* Ref.make<RenewMode>({ _tag: "pass" })
  const record = (op: Call["op"]) =>
    Effect.flatMap(
      Effect.clockWith((c) => c.currentTimeMillis),
      (at) => Ref.update(calls, (cs) => [...cs, { op, at }]),
    )

  const renew: LockRepository["Type"]["renew"] = (key, ttl) =>
    Effect.zipRight(
      record("renew"),
      Effect.flatMap(Ref.get(mode), (m) => {
        switch (m._tag) {
          case "pass":
            return inner.renew(key, ttl)
          case "fail":
            return Effect.fail(
              new StoreError({ operation: "renew", message: "store unreachable (injected)" }),
            )
          case "hang":
          case "down":
            return Effect.never
          case "delay":
            // Applied at once, answered late: the worst case for a holder that times from the answer.
            return Effect.zipLeft(inner.renew(key, ttl), Effect.sleep(m.latency))
        }
      }),
    )

  const unlessDown = <A, E>(op: Call["op"], effect: Effect.Effect<A, E>) =>
    Effect.zipRight(
      record(op),
      Effect.flatMap(Ref.get(mode), (m) => (m._tag === "down" ? Effect.never : effect)),
    )

  const locks = LockRepository.of({
    acquire: (r) => unlessDown("acquire", inner.acquire(r)),
    renew,
    release: (k) => unlessDown("release", inner.release(k)),
    holder: (l) => unlessDown("holder", inner.holder(l)),
    lease: (l) => unlessDown("lease", inner.lease(l)),
    requestCancel: (l, j) => unlessDown("requestCancel", inner.requestCancel(l, j)),
    claimSlot: (c) => unlessDown("claimSlot", inner.claimSlot(c)),
    slotClaim: (j, s, o) => unlessDown("slotClaim", inner.slotClaim(j, s, o)),
    lastSlot: (j) => unlessDown("lastSlot", inner.lastSlot(j)),
    pause: (p) => unlessDown("pause", inner.pause(p)),
    resume: (j) => unlessDown("resume", inner.resume(j)),
    paused: (j) => unlessDown("paused", inner.paused(j)),
  })
  return { locks, inner, statusRepository, calls, mode } as const
})

export type FaultyLocks = Effect.Effect.Success<typeof makeFaultyLocks>

export const layerOf = (f: FaultyLocks) =>
  Layer.mergeAll(Layer.succeed(LockRepository, f.locks), Layer.succeed(StatusRepository, f.statusRepository))
