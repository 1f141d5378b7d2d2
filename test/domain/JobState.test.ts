import { assert, describe, it } from "@effect/vitest"
import { JobState, stateToResult } from "../../src/domain/JobState.js"

describe("JobState", () => {
  it("maps states to results as ha-jobs does", () => {
    assert.deepStrictEqual(Object.fromEntries(JobState.literals.map((s) => [s, stateToResult(s)])), {
      RUNNING: "PENDING",
      PREPARING: "PENDING",
      FINISHED: "SUCCESS",
      FAILED: "FAILED",
      CANCELED: "FAILED",
      DEAD: "FAILED",
      WARNING: "SUCCESS",
      SKIPPED: "SUCCESS",
      NO_ACTION_NEEDED: "SUCCESS",
    })
  })
})
