import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import * as Job from "../../src/core/Job.js"
import * as FaultyStore from "../../src/testing/FaultyStore.js"
import { memoryStores, nodeOn } from "../support/harness.js"

// The audit log (JobManager.auditLog): every operator action, by whom, with what came of it.

const entriesOf = (manager: {
  auditLog: (o?: { limit?: number }) => Effect.Effect<ReadonlyArray<any>, any>
}) =>
  Effect.map(manager.auditLog({ limit: 100 }), (es) =>
    es.map((e) => [e.action, e.jobType, e.identity, e.outcome] as const),
  )

describe("Audit log", () => {
  it.scoped(
    "manual triggers, cancels, pauses and resumes are recorded with who and the outcome; cron runs are not",
    () =>
      Effect.gen(function* () {
        const stores = yield* memoryStores
        const tick = Job.make({ type: "audit-tick", cron: "* * * * * ?", run: Effect.void })
        const busy = Job.make({ type: "audit-busy", run: Effect.never })
        const { manager } = yield* nodeOn(stores, [tick, busy], { instance: "test" })
        yield* TestClock.adjust("3 seconds") // three cron runs: not operator actions
        const started = yield* manager.trigger("audit-busy", { by: "ops-script" })
        assert.strictEqual(started._tag, "Started")
        const locked = yield* manager.trigger("audit-busy")
        assert.strictEqual(locked._tag, "Locked")
        yield* manager.cancel("audit-busy", { by: "alice" })
        yield* manager.pause("audit-tick", { note: "INC-7", by: "bob", blockManual: true })
        yield* manager.pause("audit-tick", { note: "INC-7", by: "bob", blockManual: true })
        assert.strictEqual((yield* manager.trigger("audit-tick", { by: "carol" }))._tag, "Paused")
        yield* manager.resume("audit-tick")
        yield* manager.resume("audit-tick")
        const jobId = started._tag === "Started" ? started.jobId : ""
        assert.deepStrictEqual(yield* entriesOf(manager), [
          ["resume", "audit-tick", "library", "no change"],
          ["resume", "audit-tick", "library", "resumed"],
          ["trigger", "audit-tick", "carol", "refused: paused"],
          ["pause", "audit-tick", "bob", "no change"],
          ["pause", "audit-tick", "bob", "paused"],
          ["cancel", "audit-busy", "alice", "requested"],
          ["trigger", "audit-busy", "library", `locked by audit-busy ${jobId}`],
          ["trigger", "audit-busy", "ops-script", `started ${jobId}`],
        ])
        const [pause] = yield* manager.auditLog({
          jobType: "audit-tick",
          limit: 1,
          before: (yield* manager.auditLog({ limit: 4 }))[3]!.id,
        })
        assert.strictEqual(pause!.detail, JSON.stringify({ note: "INC-7", until: null, blockManual: true }))
        assert.strictEqual(pause!.instance, "test")
      }),
  )

  it.scoped("a store that cannot take the entry costs the entry, never the action", () =>
    Effect.gen(function* () {
      const faulty = FaultyStore.make(yield* memoryStores)
      const job = Job.make({ type: "audit-broken", run: Effect.void })
      const { manager } = yield* nodeOn(faulty.stores, [job])
      yield* faulty.arm("record", { mode: "die", times: 2 })
      assert.strictEqual((yield* manager.trigger("audit-broken"))._tag, "Started")
      const change = yield* manager.pause("audit-broken", { note: "still paused" })
      assert.isTrue(change.changed)
      assert.strictEqual((yield* faulty.hits).length, 2)
      assert.deepStrictEqual(yield* entriesOf(manager), [])
      yield* manager.resume("audit-broken")
      assert.deepStrictEqual(yield* entriesOf(manager), [["resume", "audit-broken", "library", "resumed"]])
    }),
  )

  it.scoped("bad input: unknown job type, malformed cursor, limit out of range", () =>
    Effect.gen(function* () {
      const { manager } = yield* nodeOn(yield* memoryStores, [
        Job.make({ type: "audit-input", run: Effect.void }),
      ])
      assert.strictEqual((yield* Effect.flip(manager.auditLog({ jobType: "nope" })))._tag, "UnknownJobType")
      const cursor = yield* Effect.flip(manager.auditLog({ before: "not-an-id" }))
      assert.strictEqual(cursor._tag, "InvalidInput")
      assert.strictEqual((yield* Effect.flip(manager.auditLog({ limit: 0 })))._tag, "InvalidInput")
    }),
  )
})
