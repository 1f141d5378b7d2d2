import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, TestClock } from "effect"
import { afterAll } from "vitest"
import * as Job from "../../src/core/Job.js"
import { LockRepository } from "../../src/ports/LockRepository.js"
import { StatusRepository } from "../../src/ports/StatusRepository.js"
import * as MemoryStore from "../../src/stores/memory/MemoryStore.js"
import * as SqliteStore from "../../src/stores/sqlite/SqliteStore.js"
import * as TestCluster from "../../src/testing/TestCluster.js"

/**
 * Issue 14.7, end to end: a monthly job (rarer than the 14-day status retention) whose instances
 * were all down over its slot is caught up once they come back, on every store. Catch-up reads the
 * job type's last claimed slot; SQL retention used to delete it with the other old slots.
 *
 * Memory and SQLite here, under the TestClock. Not PostgreSQL: its retention loop does real I/O,
 * which does not answer in step with TestClock jumps of weeks, so its hourly runs fall behind the
 * jump (seen: cutoffs six weeks late). test/stores/sql/Retention.test.ts runs the same retention
 * statement on PostgreSQL directly and fails with the old one, as this test does on SQLite.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-catchup-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const monthly = Job.make({ type: "monthly-report", cron: "0 0 0 1 * ?", run: Effect.void })

/** A few seconds of test time in small steps, with real pauses: the instances start and settle. */
const settle = Effect.forEach(
  Array.from({ length: 30 }),
  () =>
    TestClock.adjust("100 millis").pipe(
      Effect.zipRight(Effect.promise(() => new Promise((r) => setTimeout(r, 10)))),
    ),
  { discard: true },
)
const at = (iso: string) => TestClock.setTime(Date.parse(iso)).pipe(Effect.zipRight(settle))

const caughtUpAfterRetention = (store: Layer.Layer<LockRepository | StatusRepository, unknown>) =>
  Effect.gen(function* () {
    // The store outlives the instances (its retention keeps running, hourly, on the test clock).
    yield* at("1970-01-11T00:00:00Z")
    const ctx = yield* Layer.build(store)
    const stores = {
      lockRepository: Context.get(ctx, LockRepository),
      statusRepository: Context.get(ctx, StatusRepository),
    }
    const options = { instances: 1, stores, supervisor: false } as const
    const first = yield* TestCluster.make([monthly], options)
    yield* settle
    yield* at("1970-01-31T23:59:59Z") // the February 1st slot runs
    yield* first.instances[0]!.stop
    yield* at("1970-03-18T00:00:00Z") // all down over March 1st
    // The hourly retention (jittered, ±20%) runs within 2 hours: 14 days back is March 4th. Twice,
    // with a pause: on PostgreSQL the run the jump woke answers only now, and schedules the next.
    yield* TestClock.adjust("2 hours")
    yield* settle
    yield* TestClock.adjust("2 hours")
    yield* settle
    const second = yield* TestCluster.make([monthly], options)
    yield* settle
    const runs = yield* second.instances[0]!.manager.list("monthly-report")
    // February's statuses are older than the retention (gone, except on memory); March's was caught up.
    const caughtUp = runs.filter((s) => s.triggerSource === "catch-up")
    assert.deepStrictEqual(
      caughtUp.map((s) => [s.scheduledAt?.toISOString().slice(0, 10), s.jobState, s.reason]),
      [["1970-03-01", "FINISHED", undefined]],
    )
  })

describe("catch-up after the retention", () => {
  it.scoped("memory", () => caughtUpAfterRetention(MemoryStore.layer))
  it.scoped("SQLite", () =>
    caughtUpAfterRetention(SqliteStore.layer({ filename: path.join(dir, "catchup.db") })),
  )
})
