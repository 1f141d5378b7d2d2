import { Duration, Either } from "effect"
import { assert, describe, it } from "vitest"
import { fair } from "../../src/core/FairScheduler.js"
import { DefaultWatchEvery } from "../../src/core/Job.js"
import { DefaultLeaseTtl, HaJobsLeaseTtl, makeLeaseTiming } from "../../src/domain/LeaseTiming.js"
import * as Supervisor from "../../src/jobs/Supervisor.js"
import { tableAfter } from "../support/readmeTables.js"

/**
 * README's "Defaults and why" and the other places that name a default say what the code does, in
 * both modes: change a default without the README (or the README without the code) and this fails.
 */
const seconds = (d: Duration.Duration) => `${Duration.toMillis(d) / 1000} s`
const timing = (ttl: Duration.Duration) => {
  const t = Either.getOrThrow(makeLeaseTiming({}, ttl))
  return [t.renewEvery, t.retryEvery, t.margin].map(seconds).join(", ")
}
const deadAfter = (mode: "none" | "ha-jobs") => {
  const set = Supervisor.withCompat({}, mode).deadAfter
  return set === undefined ? "the job's lease ttl" : String(set)
}

describe("README's defaults", () => {
  it('"Defaults and why": every row as the code has it, ours and the ha-jobs mode\'s', () => {
    const expected: Record<string, readonly [string, string]> = {
      "lease `ttl`": [seconds(DefaultLeaseTtl), seconds(HaJobsLeaseTtl)],
      "`renewEvery`, `retryEvery`, `margin`": [timing(DefaultLeaseTtl), timing(HaJobsLeaseTtl)],
      "supervisor `cron`": [
        `\`${Supervisor.DefaultCron}\``,
        `\`${Supervisor.withCompat({}, "ha-jobs").cron}\``,
      ],
      "supervisor `deadAfter`": [deadAfter("none"), deadAfter("ha-jobs")],
      "`continuous.watchEvery`": [
        `${Duration.toMillis(DefaultWatchEvery)} ms`,
        `${Duration.toMillis(DefaultWatchEvery)} ms`,
      ],
      "Effect scheduler of cron and watch fibers": [
        `\`FairScheduler\`, ${fair.sliceMs} ms slices`,
        "the same",
      ],
    }
    const rows = tableAfter("### Defaults and why")
    const seen = rows.map((r) => r.cells.setting)
    assert.deepStrictEqual(seen, Object.keys(expected))
    for (const row of rows) {
      const [ours, haJobs] = expected[row.cells.setting!]!
      assert.strictEqual(row.cells.default, ours, `README.md:${row.line} default`)
      assert.strictEqual(row.cells["ha-jobs mode"], haJobs, `README.md:${row.line} ha-jobs mode`)
    }
  })

  it("the job options and lease sizing tables name the same ttl", () => {
    const lease = tableAfter("### Job options").find((r) => r.cells.option === "`lease`")
    assert.match(
      lease?.cells.default ?? "",
      new RegExp(`^ttl ${seconds(DefaultLeaseTtl)} \\(${seconds(HaJobsLeaseTtl)} `),
    )
    const ttl = tableAfter("### Lease sizing").find((r) => r.cells.option === "`ttl`")
    assert.match(
      ttl?.cells.default ?? "",
      new RegExp(`^${seconds(DefaultLeaseTtl)} \\(${seconds(HaJobsLeaseTtl)} `),
    )
  })
})
