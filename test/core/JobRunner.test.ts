import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Option, Ref, TestClock } from "effect"
import * as Job from "../../src/core/Job.js"
import { JobContext } from "../../src/core/JobContext.js"
import type { LockType } from "../../src/domain/Names.js"
import { makeFaultyLocks } from "../support/FaultyLocks.js"
import { managerOn } from "../support/harness.js"

const lease = { ttl: "30 seconds" } as const // renew every 10 s, retry every 3 s, margin 3 s
const lockType = "consumer" as LockType

/** A continuous job that records the (test) time at which it was interrupted. */
const consumer = (interruptedAt: Ref.Ref<Option.Option<number>>) =>
  Job.make({
    type: "consumer",
    lease,
    run: Effect.never.pipe(
      Effect.onInterrupt(() =>
        Effect.flatMap(Clock.currentTimeMillis, (t) => Ref.set(interruptedAt, Option.some(t))),
      ),
    ),
  })

describe("JobRunner", () => {
  it.scoped("a rejected renewal interrupts the job in that step: FAILED, lease lost, not released", () =>
    Effect.gen(function* () {
      const faulty = yield* makeFaultyLocks
      const interruptedAt = yield* Ref.make(Option.none<number>())
      const manager = yield* managerOn(
        { lockRepository: faulty.locks, statusRepository: faulty.statusRepository },
        [consumer(interruptedAt)],
      )
      const started = yield* manager.trigger("consumer")
      if (started._tag !== "Started") return assert.fail("not started")
      // The lease vanishes behind our back and another owner takes the lock.
      const holder = Option.getOrThrow(yield* faulty.inner.holder(lockType))
      yield* faulty.inner.release(holder)
      const stolen = yield* faulty.inner.acquire({
        lockType,
        jobType: holder.jobType,
        jobId: "0190d7a2-0000-7000-8000-000000000000" as never,
        ttl: Duration.seconds(30),
      })
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(yield* Ref.get(interruptedAt), Option.some(10_000))
      const final = Option.getOrThrow(yield* manager.status("consumer", started.jobId))
      assert.deepStrictEqual(
        [final.jobState, final.jobResult, final.reason],
        ["FAILED", "FAILED", "lease lost"],
      )
      assert.strictEqual(final.jobStatusTs.getTime(), 10_000)
      const calls = yield* Ref.get(faulty.calls)
      assert.isFalse(calls.some((c) => c.op === "release"))
      assert.strictEqual(stolen._tag, "Acquired")
      assert.strictEqual(Option.getOrThrow(yield* faulty.inner.holder(lockType)).token, 2)
    }),
  )

  for (const [label, mode] of [
    ["errors", { _tag: "fail" }],
    ["timeouts", { _tag: "hang" }],
    ["slow answers (20 s)", { _tag: "delay", latency: "20 seconds" }],
  ] as const) {
    it.scoped(
      `renewal ${label}: the job is interrupted at the deadline, before the store could expire the lease`,
      () =>
        Effect.gen(function* () {
          const faulty = yield* makeFaultyLocks
          const interruptedAt = yield* Ref.make(Option.none<number>())
          const manager = yield* managerOn(
            { lockRepository: faulty.locks, statusRepository: faulty.statusRepository },
            [consumer(interruptedAt)],
          )
          yield* TestClock.adjust("5 seconds")
          const started = yield* manager.trigger("consumer")
          if (started._tag !== "Started") return assert.fail("not started")
          yield* Ref.set(faulty.mode, mode)
          for (let i = 0; i < 40; i++) {
            yield* TestClock.adjust("1 second")
            if (Option.isSome(yield* Ref.get(interruptedAt))) break
          }
          // acquired at 5 s: deadline 5 + 30 - 3 = 32 s; the store keeps the lease until 35 s at least.
          assert.deepStrictEqual(yield* Ref.get(interruptedAt), Option.some(32_000))
          assert.isTrue(Option.isSome(yield* faulty.inner.holder(lockType)))
          const final = Option.getOrThrow(yield* manager.status("consumer", started.jobId))
          assert.deepStrictEqual([final.jobState, final.reason], ["FAILED", "lease lost"])
        }),
    )
  }

  it.scoped(
    "fencing tokens strictly increase, also after expiry and re-acquisition by another instance",
    () =>
      Effect.gen(function* () {
        const faulty = yield* makeFaultyLocks
        const stores = { lockRepository: faulty.locks, statusRepository: faulty.statusRepository }
        const tokens = yield* Ref.make<ReadonlyArray<number>>([])
        const job = Job.make({
          type: "consumer",
          lease,
          run: Effect.flatMap(JobContext, (ctx) =>
            Effect.zipRight(
              Ref.update(tokens, (ts) => [...ts, ctx.fencingToken]),
              Effect.never,
            ),
          ),
        })
        const a = yield* managerOn(stores, [job], { instance: "a" })
        const b = yield* managerOn(stores, [job], { instance: "b" })
        yield* a.trigger("consumer")
        yield* TestClock.adjust("1 second")
        // a's store link dies: it stops at its deadline, the lease expires in the store, b takes over.
        yield* Ref.set(faulty.mode, { _tag: "hang" })
        yield* TestClock.adjust("28 seconds")
        // a was interrupted at 27 s (its deadline); the store still holds the lease until 30 s.
        assert.strictEqual((yield* b.trigger("consumer"))._tag, "Locked")
        yield* TestClock.adjust("1 second")
        yield* Ref.set(faulty.mode, { _tag: "pass" })
        assert.strictEqual((yield* b.trigger("consumer"))._tag, "Started")
        yield* b.cancel("consumer")
        yield* TestClock.adjust("1 second")
        assert.strictEqual((yield* a.trigger("consumer"))._tag, "Started")
        yield* TestClock.adjust("1 second")
        assert.deepStrictEqual(yield* Ref.get(tokens), [1, 2, 3])
        const rows = yield* a.list("consumer")
        assert.deepStrictEqual(
          rows.map((s) => [s.fencingToken, s.instance, s.jobState]),
          [
            [3, "a", "RUNNING"],
            [2, "b", "CANCELED"],
            [1, "a", "FAILED"],
          ],
        )
      }),
  )

  it.scoped("a store that is down at trigger time: Failed, marked unavailable, nothing runs", () =>
    Effect.gen(function* () {
      const faulty = yield* makeFaultyLocks
      const ran = yield* Ref.make(false)
      const { StoreError } = yield* Effect.promise(() => import("../../src/domain/Errors.js"))
      const { LockRepository } = yield* Effect.promise(() => import("../../src/ports/LockRepository.js"))
      const down = LockRepository.of({
        ...faulty.locks,
        acquire: () => Effect.fail(new StoreError({ operation: "acquire", message: "connection refused" })),
      })
      const manager = yield* managerOn({ lockRepository: down, statusRepository: faulty.statusRepository }, [
        Job.make({ type: "consumer", run: Ref.set(ran, true) }),
      ])
      const result = yield* manager.trigger("consumer")
      assert.deepStrictEqual(result._tag === "Failed" && [result.storeUnavailable, result.message], [
        true,
        "store unavailable (acquire): connection refused",
      ])
      yield* TestClock.adjust("1 second")
      assert.isFalse(yield* Ref.get(ran))
      // The start failure is recorded against the trigger, as ha-jobs did, so it can be retried.
      const rows = yield* manager.list("consumer")
      assert.deepStrictEqual(
        rows.map((s) => [s.jobState, s.reason]),
        [["FAILED", "start failed: store unavailable (acquire): connection refused"]],
      )
    }),
  )
})
