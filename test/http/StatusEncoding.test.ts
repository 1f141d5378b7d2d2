import { HttpServer } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Either, Layer, TestClock } from "effect"
import * as Job from "../../src/core/Job.js"
import { JobContext } from "../../src/core/JobContext.js"
import * as HaJobsHttp from "../../src/http/HaJobsHttp.js"
import { durationInWords } from "../../src/http/StatusEncoding.js"
import { memoryStores } from "../support/harness.js"
import { haJobsStatusFields, jobsLayer, sseReader, testEnv } from "../support/httpHarness.js"

describe("durationInWords (ha-jobs' word-based English)", () => {
  it.each([
    [0, "0 milliseconds"],
    [1, "1 millisecond"],
    [1_000, "1 second"],
    [62_003, "1 minute, 2 seconds and 3 milliseconds"],
    [600_000, "10 minutes"],
    [3_723_004, "1 hour, 2 minutes, 3 seconds and 4 milliseconds"],
    [90_000_000, "1 day and 1 hour"],
    [-5, "0 milliseconds"],
  ])("%d ms -> %s", (ms, words) => {
    assert.strictEqual(durationInWords(ms), words)
  })
})

// Built inside the test, so the server's fibers (and the jobs') run on the TestClock.
const serve = (jobs: ReadonlyArray<Job.Any<any>>) =>
  Effect.gen(function* () {
    const stores = yield* memoryStores
    const context = yield* Layer.build(
      HaJobsHttp.layerServer({ port: 0, host: "127.0.0.1" }).pipe(
        Layer.provide(jobsLayer(stores, jobs)),
        Layer.provide(testEnv),
      ),
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    const base = `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}`
    const request = (path: string, init?: RequestInit) =>
      Effect.promise(() => fetch(base + path, { ...init, headers: { connection: "close" } }))
    const json = (path: string, init?: RequestInit) =>
      Effect.flatMap(request(path, init), (res) =>
        Effect.promise(async () => ({
          status: res.status,
          location: res.headers.get("location"),
          body: await res.json(),
        })),
      )
    return { request, json }
  })

describe("status JSON on the TestClock", () => {
  it.scoped("has exact times, duration in words, content only when present, and our fields", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.parse("2025-03-01T10:00:00.000Z"))
      const importJob = Job.make({
        type: "import",
        lockType: "catalog",
        lease: { ttl: "10 minutes" },
        run: Effect.gen(function* () {
          yield* Effect.sleep("62003 millis")
          return { imported: 3 }
        }),
      })
      const { json } = yield* serve([importJob])
      const started = yield* json("/jobs/import", { method: "POST" })
      assert.strictEqual(started.status, 201)
      const running = yield* json(started.location!)
      assert.deepStrictEqual(running.body, {
        triggerId: started.body.triggerId,
        jobType: "import",
        jobId: started.body.jobId,
        jobState: "RUNNING",
        jobResult: "PENDING",
        jobStatusTs: "2025-03-01T10:00:00.000Z",
        startTime: "2025-03-01T10:00:00.000Z",
        duration: "0 milliseconds",
        lockType: "catalog",
        fencingToken: 1,
        attempt: 1,
        triggerSource: "manual",
        instance: "test",
      })
      assert.notProperty(running.body, "content")

      yield* TestClock.adjust("62003 millis")
      const done = yield* json(started.location!)
      assert.deepStrictEqual(Object.keys(done.body), [
        ...haJobsStatusFields,
        "lockType",
        "fencingToken",
        "attempt",
        "triggerSource",
        "instance",
      ])
      assert.strictEqual(done.body.jobState, "FINISHED")
      assert.strictEqual(done.body.jobStatusTs, "2025-03-01T10:01:02.003Z")
      assert.strictEqual(done.body.duration, "1 minute, 2 seconds and 3 milliseconds")
      assert.deepStrictEqual(done.body.content, { imported: 3 })

      const history = yield* json(`${started.location}/history`)
      assert.deepStrictEqual(
        history.body.history.map((s: any) => [s.jobState, s.jobStatusTs, s.duration]),
        [
          ["FINISHED", "2025-03-01T10:01:02.003Z", "1 minute, 2 seconds and 3 milliseconds"],
          ["RUNNING", "2025-03-01T10:00:00.000Z", "0 milliseconds"],
        ],
      )
    }),
  )

  it.scoped("a failure shows its reason and the progress content; cron jobs show scheduledAt", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.parse("2025-03-01T09:59:59.000Z"))
      const failing = Job.make({
        type: "export",
        cron: "0 0 10 * * ?",
        run: Effect.gen(function* () {
          const ctx = yield* JobContext
          yield* ctx.progress({ step: 1 })
          return yield* Effect.fail(new Error("disk full"))
        }),
        retries: 0,
      })
      const { json } = yield* serve([failing])
      const list = yield* json("/jobs/export")
      assert.deepStrictEqual(list.body.nextRuns, [
        "2025-03-01T10:00:00.000Z",
        "2025-03-02T10:00:00.000Z",
        "2025-03-03T10:00:00.000Z",
        "2025-03-04T10:00:00.000Z",
        "2025-03-05T10:00:00.000Z",
      ])
      assert.strictEqual(list.body.cronDescription, "At 10:00")
      yield* TestClock.adjust("1 second") // the cron slot fires
      const latest = yield* json("/jobs/export?limit=1")
      const status = yield* json(latest.body.latest)
      assert.strictEqual(status.body.jobState, "FAILED")
      assert.strictEqual(status.body.triggerSource, "cron")
      assert.strictEqual(status.body.scheduledAt, "2025-03-01T10:00:00.000Z")
      assert.include(status.body.reason, "disk full")
      assert.deepStrictEqual(status.body.content, { step: 1 })
    }),
  )

  it.scoped("/events emits a change after one poll interval of the TestClock", () =>
    Effect.gen(function* () {
      const job = Job.make({ type: "consumer", run: Effect.never })
      const { request, json } = yield* serve([job])
      const res = yield* request("/events")
      const events = sseReader(res)
      yield* Effect.addFinalizer(() => Effect.promise(() => events.close()))
      yield* Effect.promise(() => events.until((es) => es.length === 1))
      assert.deepStrictEqual(events.events[0], {
        event: "status",
        data: { jobType: "consumer", latest: null },
      })
      const started = yield* json("/jobs/consumer", { method: "POST" })
      yield* TestClock.adjust("1 second")
      // The trigger: its status change, and its audit log entry.
      yield* Effect.promise(() => events.until((es) => es.length === 3))
      const status = events.events.filter((e) => e.event === "status")
      assert.strictEqual(status[1]?.data.latest.jobId, started.body.jobId)
      assert.strictEqual(status[1]?.data.latest.jobState, "RUNNING")
      const audit = events.events.filter((e) => e.event === "audit")
      assert.strictEqual(audit[0]?.data.outcome, `started ${started.body.jobId}`)
      // No change, no event.
      yield* TestClock.adjust("5 seconds")
      const more = yield* Effect.either(Effect.tryPromise(() => events.until((es) => es.length > 3, 300)))
      assert.isTrue(Either.isLeft(more))
    }),
  )
})
