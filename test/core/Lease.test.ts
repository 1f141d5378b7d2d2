import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Either, Fiber, Option, Ref, TestClock } from "effect"
import * as Lease from "../../src/core/Lease.js"
import type { JobId } from "../../src/domain/Ids.js"
import { makeLeaseTiming } from "../../src/domain/LeaseTiming.js"
import type { JobType, LockType } from "../../src/domain/Names.js"
import { LockRepository } from "../../src/ports/LockRepository.js"
import { type FaultyLocks, makeFaultyLocks } from "../support/FaultyLocks.js"

const lockType = "orders" as LockType
const jobType = "import-orders" as JobType
const timing = Either.getOrThrow(makeLeaseTiming({ ttl: "30 seconds" })) // renew 10 s, retry 3 s, margin 3 s

const setup = Effect.gen(function* () {
  const faulty = yield* makeFaultyLocks
  const lease = yield* Lease.make.pipe(Effect.provideService(LockRepository, faulty.locks))
  const acquired = yield* lease.acquire({ lockType, jobType, jobId: "job-1" as JobId }, timing)
  assert.strictEqual(acquired._tag, "Acquired")
  if (acquired._tag !== "Acquired") throw new Error("unreachable")
  // When the lease is lost, remember the (test) time.
  const lostAt = yield* Effect.fork(
    Effect.zipRight(
      acquired.lease.lost,
      Effect.map(Clock.currentTimeMillis, (t) => t),
    ),
  )
  return { faulty, lease: acquired.lease, lostAt }
})

const renewCalls = (f: FaultyLocks) =>
  Effect.map(Ref.get(f.calls), (cs) => cs.filter((c) => c.op === "renew").map((c) => c.at))
const otherCalls = (f: FaultyLocks) =>
  Effect.map(Ref.get(f.calls), (cs) => cs.filter((c) => c.op !== "renew" && c.op !== "acquire"))

const stepSeconds = (n: number) => Effect.repeatN(TestClock.adjust("1 second"), n - 1)

describe("Lease", () => {
  it.scoped("renews every ttl/3, each renewal one store write, the first not immediate", () =>
    Effect.gen(function* () {
      const { faulty, lease } = yield* setup
      yield* TestClock.adjust(Duration.millis(9_999))
      assert.deepStrictEqual(yield* renewCalls(faulty), [])
      yield* TestClock.adjust(Duration.millis(1))
      assert.deepStrictEqual(yield* renewCalls(faulty), [10_000])
      yield* stepSeconds(50)
      assert.deepStrictEqual(yield* renewCalls(faulty), [10_000, 20_000, 30_000, 40_000, 50_000, 60_000])
      // No reads, no other writes while renewing.
      assert.deepStrictEqual(yield* otherCalls(faulty), [])
      // The deadline follows the last confirmed renewal: 60 s + 30 s ttl - 3 s margin.
      assert.strictEqual(yield* lease.deadline, 87_000)
    }),
  )

  it.scoped("a custom renewal interval is honoured", () =>
    Effect.gen(function* () {
      const faulty = yield* makeFaultyLocks
      const lease = yield* Lease.make.pipe(Effect.provideService(LockRepository, faulty.locks))
      const custom = Either.getOrThrow(makeLeaseTiming({ ttl: "30 seconds", renewEvery: "4 seconds" }))
      yield* lease.acquire({ lockType, jobType, jobId: "job-2" as JobId }, custom)
      yield* stepSeconds(13)
      assert.deepStrictEqual(yield* renewCalls(faulty), [4_000, 8_000, 12_000])
    }),
  )

  it.scoped("a rejected renewal loses the lease at once, and it is not released", () =>
    Effect.gen(function* () {
      const { faulty, lease, lostAt } = yield* setup
      // Someone else's view of the store: our lease vanished (e.g. expired during a pause) and was taken.
      yield* faulty.inner.release(lease.key)
      yield* faulty.inner.acquire({
        lockType,
        jobType,
        jobId: "job-other" as JobId,
        ttl: Duration.seconds(30),
      })
      yield* stepSeconds(10)
      assert.deepStrictEqual(yield* Fiber.join(lostAt), 10_000)
      assert.isFalse(yield* lease.release)
      assert.deepStrictEqual(yield* otherCalls(faulty), [])
      const holder = yield* faulty.inner.holder(lockType)
      assert.strictEqual(Option.getOrThrow(holder).jobId, "job-other")
    }),
  )

  it.scoped("failing renewals are retried, then the lease is lost at the local deadline", () =>
    Effect.gen(function* () {
      const { faulty, lostAt } = yield* setup
      yield* Ref.set(faulty.mode, { _tag: "fail" })
      yield* stepSeconds(40)
      // deadline = 0 (acquire sent) + 30 s - 3 s margin
      assert.strictEqual(yield* Fiber.join(lostAt), 27_000)
      assert.deepStrictEqual(yield* renewCalls(faulty), [10_000, 13_000, 16_000, 19_000, 22_000, 25_000])
    }),
  )

  for (const latency of [0, 1, 5, 9, 15, 17, 25, 60]) {
    it.scoped(`renewal latency ${latency} s: the lease is lost before the store could expire it`, () =>
      Effect.gen(function* () {
        const { faulty, lease, lostAt } = yield* setup
        yield* Ref.set(
          faulty.mode,
          latency === 60 ? { _tag: "hang" } : { _tag: "delay", latency: `${latency} seconds` },
        )
        // From 0 s on the store is unreachable for new renewals once the first one is under way.
        yield* stepSeconds(latency === 0 ? 5 : 12)
        yield* Ref.set(faulty.mode, { _tag: "hang" })
        for (let i = 0; i < 200; i++) {
          yield* TestClock.adjust("500 millis")
          const done = yield* Fiber.poll(lostAt)
          if (Option.isSome(done)) break
          // While we believe we hold it, the store agrees.
          assert.isTrue(Option.isSome(yield* faulty.inner.holder(lockType)))
        }
        const at = yield* Fiber.join(lostAt)
        // At the moment of loss the store still holds our lease, and will for at least the margin.
        const holder = yield* faulty.inner.holder(lockType)
        assert.strictEqual(Option.getOrThrow(holder).jobId, lease.key.jobId)
        yield* TestClock.adjust(Duration.subtract(timing.margin, Duration.millis(1)))
        assert.isTrue(
          Option.isSome(yield* faulty.inner.holder(lockType)),
          `latency ${latency}: lost at ${at}`,
        )
      }),
    )
  }

  it.scoped("closing the lease's scope stops the keeper and releases the lock", () =>
    Effect.gen(function* () {
      const faulty = yield* makeFaultyLocks
      const lease = yield* Lease.make.pipe(Effect.provideService(LockRepository, faulty.locks))
      yield* Effect.scoped(lease.acquire({ lockType, jobType, jobId: "job-3" as JobId }, timing))
      assert.isTrue(Option.isNone(yield* faulty.inner.holder(lockType)))
      yield* stepSeconds(30)
      assert.deepStrictEqual(yield* renewCalls(faulty), [])
    }),
  )
})
