import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Option, Ref, Schema, Scope, TestClock } from "effect"
import * as Job from "../../src/core/Job.js"
import { JobContext } from "../../src/core/JobContext.js"
import type { JobId } from "../../src/domain/Ids.js"
import type { LockType } from "../../src/domain/Names.js"
import { managerOn, memoryStores } from "../support/harness.js"

const lease = { ttl: "30 seconds" } as const // renew every 10 s, margin 3 s
const forever = Job.make({ type: "consumer", lease, run: Effect.never })

describe("JobManager", () => {
  it.scoped("job types sharing a lock type: the second trigger is Locked and names the holder", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const ran = yield* Ref.make(false)
      const holder = Job.make({ type: "import-products", lockType: "products", lease, run: Effect.never })
      const other = Job.make({
        type: "export-products",
        lockType: "products",
        lease,
        run: Ref.set(ran, true),
      })
      const manager = yield* managerOn(stores, [holder, other])
      const started = yield* manager.trigger("import-products")
      assert.strictEqual(started._tag, "Started")
      const locked = yield* manager.trigger("export-products")
      assert.deepStrictEqual(locked._tag, "Locked")
      if (locked._tag !== "Locked" || started._tag !== "Started") return
      assert.strictEqual(locked.jobType, "import-products")
      assert.strictEqual(locked.jobId, started.jobId)
      yield* TestClock.adjust("1 minute")
      assert.isFalse(yield* Ref.get(ran))
      assert.deepStrictEqual(yield* manager.list("export-products"), [])
    }),
  )

  it.scoped("writes RUNNING, then FINISHED with the encoded result, under one fencing token", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      class Imported extends Schema.Class<Imported>("Imported")({ count: Schema.Number, at: Schema.Date }) {}
      const job = Job.make({
        type: "product-import",
        lease,
        result: Imported,
        run: Effect.zipRight(
          Effect.sleep("2 seconds"),
          Effect.succeed(new Imported({ count: 3, at: new Date(0) })),
        ),
      })
      const manager = yield* managerOn(stores, [job], { instance: "a" })
      const started = yield* manager.trigger("product-import")
      assert.strictEqual(started._tag, "Started")
      if (started._tag !== "Started") return
      const running = Option.getOrThrow(yield* manager.status("product-import", started.jobId))
      assert.strictEqual(running.jobState, "RUNNING")
      assert.strictEqual(running.jobResult, "PENDING")
      yield* TestClock.adjust("2 seconds")
      const { statuses: history } = yield* manager.history("product-import", started.jobId)
      assert.deepStrictEqual(
        history.map((s) => [s.jobState, s.jobResult]),
        [
          ["FINISHED", "SUCCESS"],
          ["RUNNING", "PENDING"],
        ],
      )
      const finished = history[0]!
      assert.deepStrictEqual(finished.content, { count: 3, at: "1970-01-01T00:00:00.000Z" })
      assert.strictEqual(finished.fencingToken, 1)
      assert.strictEqual(history[1]!.fencingToken, 1)
      assert.strictEqual(finished.triggerId, started.triggerId)
      assert.strictEqual(finished.instance, "a")
      assert.strictEqual(finished.jobStatusTs.getTime(), 2_000)
      assert.isTrue(Option.isNone(yield* stores.lockRepository.holder("product-import" as LockType)))
    }),
  )

  it.scoped("a failure and a defect are recorded FAILED with their message", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      class FeedDown extends Schema.TaggedError<FeedDown>()("FeedDown", { message: Schema.String }) {}
      const manager = yield* managerOn(stores, [
        Job.make({ type: "fails", run: Effect.fail(new FeedDown({ message: "feed answered 502" })) }),
        Job.make({ type: "dies", run: Effect.die(new Error("boom")) }),
      ])
      const a = yield* manager.trigger("fails")
      const b = yield* manager.trigger("dies")
      yield* TestClock.adjust("1 second")
      const fa = Option.getOrThrow(yield* manager.latest("fails"))
      const fb = Option.getOrThrow(yield* manager.latest("dies"))
      assert.strictEqual(a._tag, "Started")
      assert.strictEqual(b._tag, "Started")
      assert.deepStrictEqual(
        [fa.jobState, fa.jobResult, fa.reason],
        ["FAILED", "FAILED", "FeedDown: feed answered 502"],
      )
      assert.deepStrictEqual([fb.jobState, fb.jobResult, fb.reason], ["FAILED", "FAILED", "defect: boom"])
    }),
  )

  it.scoped("a job chooses WARNING, SKIPPED or NO_ACTION_NEEDED", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const { JobOutcome } = yield* Effect.promise(() => import("../../src/domain/JobOutcome.js"))
      const manager = yield* managerOn(stores, [
        Job.make({
          type: "warns",
          run: Effect.succeed(JobOutcome.warning({ rejected: 2 }, "2 rows rejected")),
        }),
        Job.make({ type: "skips", run: Effect.succeed(JobOutcome.skipped(undefined, "feed unchanged")) }),
        Job.make({ type: "idle", run: Effect.succeed(JobOutcome.noActionNeeded()) }),
      ])
      for (const t of ["warns", "skips", "idle"]) yield* manager.trigger(t)
      yield* TestClock.adjust("1 second")
      const w = Option.getOrThrow(yield* manager.latest("warns"))
      const s = Option.getOrThrow(yield* manager.latest("skips"))
      const i = Option.getOrThrow(yield* manager.latest("idle"))
      assert.deepStrictEqual(
        [w.jobState, w.jobResult, w.content, w.reason],
        ["WARNING", "SUCCESS", { rejected: 2 }, "2 rows rejected"],
      )
      assert.deepStrictEqual(
        [s.jobState, s.jobResult, s.content, s.reason],
        ["SKIPPED", "SUCCESS", undefined, "feed unchanged"],
      )
      assert.deepStrictEqual([i.jobState, i.jobResult], ["NO_ACTION_NEEDED", "SUCCESS"])
    }),
  )

  it.scoped("progress writes RUNNING with content; bad content is a typed error and writes nothing", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const errors = yield* Ref.make<ReadonlyArray<string>>([])
      const job = Job.make({
        type: "reporter",
        maxContentBytes: 100,
        run: Effect.gen(function* () {
          const ctx = yield* JobContext
          yield* ctx.progress({ done: 1, of: 3 })
          for (const bad of [{ big: "x".repeat(200) }, { n: 10n }, () => 1]) {
            const error = yield* Effect.flip(ctx.progress(bad))
            yield* Ref.update(errors, (es) => [...es, `${error._tag}: ${error.message}`])
          }
          return { done: 3 }
        }),
      })
      const manager = yield* managerOn(stores, [job])
      const started = yield* manager.trigger("reporter")
      yield* TestClock.adjust("1 second")
      if (started._tag !== "Started") return assert.fail("not started")
      const { statuses: history } = yield* manager.history("reporter", started.jobId)
      assert.deepStrictEqual(
        history.map((s) => [s.jobState, s.content]),
        [
          ["FINISHED", { done: 3 }],
          ["RUNNING", { done: 1, of: 3 }],
          ["RUNNING", undefined],
        ],
      )
      const messages = yield* Ref.get(errors)
      assert.strictEqual(messages.length, 3)
      assert.match(messages[0]!, /^ContentError: content is 2\d\d bytes, more than the limit of 100 bytes$/)
      assert.match(messages[1]!, /^ContentError: content is not JSON-serializable/)
      assert.match(messages[2]!, /^ContentError: content of type function is not JSON/)
    }),
  )

  it.scoped(
    "progressEvery: one progress write per interval, the newest content trailing; none after the end",
    () =>
      Effect.gen(function* () {
        const stores = yield* memoryStores
        const job = Job.make({
          type: "chatty",
          progressEvery: "1 second",
          run: Effect.gen(function* () {
            const ctx = yield* JobContext
            for (let step = 1; step <= 10; step++) yield* ctx.progress({ step })
            yield* Effect.sleep("3 seconds")
            yield* ctx.progress({ step: 11 })
            yield* Effect.sleep("500 millis")
            yield* ctx.progress({ step: 12 })
            yield* ctx.progress({ step: 13 })
            return { done: true }
          }),
        })
        const manager = yield* managerOn(stores, [job])
        const started = yield* manager.trigger("chatty")
        if (started._tag !== "Started") return assert.fail("not started")
        const contents = Effect.map(manager.history("chatty", started.jobId), (page) =>
          page.statuses.map((s) => [s.jobState, s.content]),
        )
        yield* TestClock.adjust("1 second")
        // Step 1 at once, steps 2-10 as one trailing write of the newest when the second ended.
        assert.deepStrictEqual(yield* contents, [
          ["RUNNING", { step: 10 }],
          ["RUNNING", { step: 1 }],
          ["RUNNING", undefined],
        ])
        yield* TestClock.adjust("2500 millis")
        // Step 11 came 2 s after the last write: at once. Steps 12-13 were still waiting at the end:
        // dropped, never written after the final status.
        yield* TestClock.adjust("5 seconds")
        assert.deepStrictEqual(yield* contents, [
          ["FINISHED", { done: true }],
          ["RUNNING", { step: 11 }],
          ["RUNNING", { step: 10 }],
          ["RUNNING", { step: 1 }],
          ["RUNNING", undefined],
        ])
      }),
  )

  it("progressEvery must be a positive duration", () => {
    const refused = Job.resolve(Job.make({ type: "bad", progressEvery: "0 seconds", run: Effect.void }))
    assert.isTrue(refused._tag === "Left" && refused.left.message.includes("progressEvery"))
  })

  it.scoped("a result that cannot be encoded ends FAILED with the reason", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const manager = yield* managerOn(stores, [
        Job.make({ type: "bigint", run: Effect.succeed({ total: 1n }) }),
        Job.make({
          type: "schema",
          result: Schema.Struct({ n: Schema.Positive }),
          run: Effect.succeed({ n: -1 }),
        }),
      ])
      yield* manager.trigger("bigint")
      yield* manager.trigger("schema")
      yield* TestClock.adjust("1 second")
      const a = Option.getOrThrow(yield* manager.latest("bigint"))
      const b = Option.getOrThrow(yield* manager.latest("schema"))
      assert.strictEqual(a.jobState, "FAILED")
      assert.match(a.reason!, /^result could not be stored: content is not JSON-serializable/)
      assert.strictEqual(b.jobState, "FAILED")
      assert.match(b.reason!, /^result could not be stored: content does not match the job's result schema/)
    }),
  )

  it.scoped("JobContext carries the ids, attempt, source and token; the signal aborts on interruption", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const seen = yield* Ref.make<Option.Option<JobContext["Type"]>>(Option.none())
      const job = Job.make({
        type: "ctx",
        lease,
        run: Effect.flatMap(JobContext, (ctx) =>
          Effect.zipRight(Ref.set(seen, Option.some(ctx)), Effect.never),
        ),
      })
      const manager = yield* managerOn(stores, [job])
      const started = yield* manager.trigger("ctx")
      yield* TestClock.adjust("1 second")
      if (started._tag !== "Started") return assert.fail("not started")
      const ctx = Option.getOrThrow(yield* Ref.get(seen))
      assert.deepStrictEqual(
        [ctx.jobType, ctx.lockType, ctx.jobId, ctx.triggerId, ctx.attempt, ctx.source, ctx.fencingToken],
        ["ctx", "ctx", started.jobId, started.triggerId, 1, "manual", 1],
      )
      assert.isFalse(ctx.signal.aborted)
      yield* manager.cancel("ctx")
      yield* TestClock.adjust("1 second")
      assert.isTrue(ctx.signal.aborted)
    }),
  )

  it.scoped("every execution is a span with job type, ids and token", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const attributes = yield* Ref.make<ReadonlyMap<string, unknown>>(new Map())
      const job = Job.make({
        type: "traced",
        run: Effect.flatMap(Effect.currentParentSpan, (span) =>
          span._tag === "Span" ? Ref.set(attributes, span.attributes) : Effect.void,
        ),
      })
      const manager = yield* managerOn(stores, [job])
      const started = yield* manager.trigger("traced")
      yield* TestClock.adjust("1 second")
      if (started._tag !== "Started") return assert.fail("not started")
      const attrs = yield* Ref.get(attributes)
      assert.strictEqual(attrs.get("job.type"), "traced")
      assert.strictEqual(attrs.get("job.id"), started.jobId)
      assert.strictEqual(attrs.get("job.trigger_id"), started.triggerId)
      assert.strictEqual(attrs.get("job.fencing_token"), 1)
    }),
  )

  it.scoped("cancel of a local execution: CANCELED at once, lock released", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const manager = yield* managerOn(stores, [forever])
      const started = yield* manager.trigger("consumer")
      yield* manager.cancel("consumer")
      if (started._tag !== "Started") return assert.fail("not started")
      const final = Option.getOrThrow(yield* manager.awaitExecution(started.jobId))
      assert.deepStrictEqual(
        [final.jobState, final.jobResult, final.reason],
        ["CANCELED", "FAILED", "cancelled"],
      )
      assert.strictEqual(final.jobStatusTs.getTime(), 0)
      assert.isTrue(Option.isNone(yield* stores.lockRepository.holder("consumer" as LockType)))
    }),
  )

  it.scoped("cancel through the store reaches the holder on another instance within one renewal", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const holder = yield* managerOn(stores, [forever], { instance: "a" })
      const other = yield* managerOn(stores, [forever], { instance: "b" })
      yield* TestClock.adjust("4 seconds")
      const started = yield* holder.trigger("consumer")
      if (started._tag !== "Started") return assert.fail("not started")
      yield* TestClock.adjust("3 seconds")
      yield* other.cancel("consumer")
      assert.strictEqual(Option.getOrThrow(yield* other.latest("consumer")).jobState, "RUNNING")
      // The holder's next renewal (10 s after it started, at 14 s) sees the request.
      yield* TestClock.adjust("6999 millis")
      assert.strictEqual(Option.getOrThrow(yield* other.latest("consumer")).jobState, "RUNNING")
      yield* TestClock.adjust("1 millis")
      const final = Option.getOrThrow(yield* other.latest("consumer"))
      assert.deepStrictEqual([final.jobState, final.reason, final.instance], ["CANCELED", "cancelled", "a"])
      assert.strictEqual(final.jobStatusTs.getTime(), 14_000)
      assert.strictEqual((yield* other.trigger("consumer"))._tag, "Started")
    }),
  )

  it.scoped("a continuous job holds its lease across many renewals until cancelled", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const manager = yield* managerOn(stores, [forever])
      const started = yield* manager.trigger("consumer")
      if (started._tag !== "Started") return assert.fail("not started")
      for (let i = 0; i < 60; i++) yield* TestClock.adjust("10 seconds")
      const holder = Option.getOrThrow(yield* stores.lockRepository.holder("consumer" as LockType))
      assert.strictEqual(holder.jobId, started.jobId)
      assert.strictEqual(Option.getOrThrow(yield* manager.latest("consumer")).jobState, "RUNNING")
      assert.strictEqual((yield* manager.trigger("consumer"))._tag, "Locked")
      yield* manager.cancel("consumer")
      assert.strictEqual(Option.getOrThrow(yield* manager.awaitExecution(started.jobId)).jobState, "CANCELED")
    }),
  )

  it.effect(
    "shutdown: CANCELED with reason shutdown, lease released, another instance takes over at once",
    () =>
      Effect.gen(function* () {
        const stores = yield* memoryStores
        const scope = yield* Scope.make()
        const first = yield* managerOn(stores, [forever], { instance: "a" }).pipe(Scope.extend(scope))
        const started = yield* first.trigger("consumer")
        yield* TestClock.adjust("15 seconds")
        yield* Scope.close(scope, Exit.void)
        if (started._tag !== "Started") return assert.fail("not started")
        const final = Option.getOrThrow(yield* first.status("consumer", started.jobId))
        assert.deepStrictEqual([final.jobState, final.reason], ["CANCELED", "shutdown"])
        assert.isTrue(Option.isNone(yield* stores.lockRepository.holder("consumer" as LockType)))
        const next = yield* Effect.scoped(
          Effect.flatMap(managerOn(stores, [forever], { instance: "b" }), (m) => m.trigger("consumer")),
        )
        assert.strictEqual(next._tag, "Started")
        // A manager that has shut down starts nothing.
        assert.strictEqual((yield* first.trigger("consumer"))._tag, "Failed")
      }),
  )

  it.scoped("shutdown can be called before the scope closes, and twice", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const manager = yield* managerOn(stores, [forever])
      const started = yield* manager.trigger("consumer")
      yield* manager.shutdown
      yield* manager.shutdown
      if (started._tag !== "Started") return assert.fail("not started")
      const final = Option.getOrThrow(yield* manager.status("consumer", started.jobId))
      assert.deepStrictEqual([final.jobState, final.reason], ["CANCELED", "shutdown"])
      assert.deepStrictEqual(yield* manager.running, [])
    }),
  )

  it.effect("shutdown grace: a job that finishes within the grace period is not cancelled", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const scope = yield* Scope.make()
      const job = Job.make({ type: "short", run: Effect.as(Effect.sleep("2 seconds"), { ok: true }) })
      const manager = yield* managerOn(stores, [job], { shutdownGrace: "5 seconds" }).pipe(
        Scope.extend(scope),
      )
      const started = yield* manager.trigger("short")
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("2 seconds")
      yield* closing.await
      if (started._tag !== "Started") return assert.fail("not started")
      const final = Option.getOrThrow(yield* manager.status("short", started.jobId))
      assert.deepStrictEqual([final.jobState, final.content], ["FINISHED", { ok: true }])
    }),
  )

  it.scoped("retrigger keeps the trigger id, gets a new job id and counts the attempt", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const manager = yield* managerOn(stores, [Job.make({ type: "flaky", run: Effect.fail("nope") })])
      const first = yield* manager.trigger("flaky")
      yield* TestClock.adjust("1 second")
      if (first._tag !== "Started") return assert.fail("not started")
      const again = yield* manager.retrigger("flaky", first.triggerId, 2)
      yield* TestClock.adjust("1 second")
      if (again._tag !== "Started") return assert.fail("not started")
      assert.strictEqual(again.triggerId, first.triggerId)
      assert.notStrictEqual(again.jobId, first.jobId)
      const latest = Option.getOrThrow(yield* manager.latest("flaky"))
      assert.deepStrictEqual([latest.jobId, latest.attempt, latest.triggerSource], [again.jobId, 2, "retry"])
      assert.strictEqual(latest.fencingToken, 2)
    }),
  )

  it.scoped("lists newest first, with a limit and a cursor", () =>
    Effect.gen(function* () {
      const stores = yield* memoryStores
      const manager = yield* managerOn(stores, [Job.make({ type: "quick", run: Effect.void })])
      const ids: Array<JobId> = []
      for (let i = 0; i < 5; i++) {
        const r = yield* manager.trigger("quick")
        if (r._tag === "Started") ids.push(r.jobId)
        yield* TestClock.adjust("1 second")
      }
      const page1 = yield* manager.list("quick", { limit: 2 })
      assert.deepStrictEqual(
        page1.map((s) => s.jobId),
        [ids[4], ids[3]],
      )
      const page2 = yield* manager.list("quick", { limit: 2, before: page1[1]!.jobId })
      assert.deepStrictEqual(
        page2.map((s) => s.jobId),
        [ids[2], ids[1]],
      )
      assert.deepStrictEqual(
        (yield* manager.list("quick")).map((s) => s.fencingToken),
        [5, 4, 3, 2, 1],
      )
    }),
  )
})
