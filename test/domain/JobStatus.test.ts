import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeJobId, makeTriggerId } from "../../src/domain/Ids.js"
import { JobState } from "../../src/domain/JobState.js"
import { statusAt } from "../../src/domain/JobStatus.js"
import type { JobType, LockType } from "../../src/domain/Names.js"

describe("statusAt", () => {
  it.effect("derives the result from the state and stamps the given time", () =>
    Effect.gen(function* () {
      const base = {
        triggerId: yield* makeTriggerId,
        jobId: yield* makeJobId,
        jobType: "import" as JobType,
        lockType: "import" as LockType,
        attempt: 1,
        triggerSource: "manual" as const,
      }
      const results = JobState.literals.map((jobState) => statusAt(1_000 * 60, { ...base, jobState }))
      assert.deepStrictEqual(
        results.map((s) => `${s.jobState}:${s.jobResult}`),
        [
          "RUNNING:PENDING",
          "PREPARING:PENDING",
          "FINISHED:SUCCESS",
          "FAILED:FAILED",
          "CANCELED:FAILED",
          "DEAD:FAILED",
          "WARNING:SUCCESS",
          "SKIPPED:SUCCESS",
          "NO_ACTION_NEEDED:SUCCESS",
        ],
      )
      assert.isTrue(results.every((s) => s.jobStatusTs.getTime() === 60_000))
    }),
  )

  it.effect("overrides a result and time carried over from an earlier status", () =>
    Effect.gen(function* () {
      const running = statusAt(1, {
        triggerId: yield* makeTriggerId,
        jobId: yield* makeJobId,
        jobType: "import" as JobType,
        lockType: "import" as LockType,
        jobState: "RUNNING",
        attempt: 2,
        triggerSource: "cron",
        reason: "kept",
      })
      const dead = statusAt(5, { ...running, jobState: "DEAD" })
      assert.strictEqual(dead.jobResult, "FAILED")
      assert.strictEqual(dead.jobStatusTs.getTime(), 5)
      assert.strictEqual(dead.attempt, 2)
      assert.strictEqual(dead.reason, "kept")
    }),
  )
})
