import * as fs from "node:fs"
import { assert } from "vitest"
import type { CheckReport, Violations } from "../../chaos/check.js"

/**
 * What every short chaos run in the tests must show: no violation of any kind (the list is pinned,
 * so a check dropped from chaos/check.ts fails here too), each worker fault injected at least once
 * (and each of `storeKinds`), a positive self-fencing margin, and failover after a kill of the holder
 * within 2 x the lease (loose, for loaded CI machines). A failing run's files stay in `dir` for inspection; a passing
 * run's are removed.
 */
export const assertChaosPassed = (
  report: CheckReport,
  dir: string,
  lines: ReadonlyArray<string>,
  /**
   * The store's fault kinds, each to be injected too: a stall by default; PostgreSQL adds
   * "terminate"; the Cassandra cluster has its node faults instead.
   */
  storeKinds: ReadonlyArray<string> = ["stall"],
) => {
  console.log(lines.join("\n"))
  if (!report.passed) assert.fail(`chaos violations (files kept in ${dir}):\n${lines.join("\n")}`)
  fs.rmSync(dir, { recursive: true, force: true })
  assert.deepStrictEqual(report.violations, {
    overlap: 0,
    tokenNotIncreasing: 0,
    staleAccepted: 0,
    slotRunTwice: 0,
    slotMissed: 0,
    pendingAfterGrace: 0,
    shutdownHung: 0,
    workerCrashed: 0,
  })
  for (const kind of ["kill", "pause", "busy", "flood", ...storeKinds])
    assert.isAtLeast(report.faults[kind] ?? 0, 1, kind)
  if (report.margin.n > 0) assert.isAbove(report.margin.min, 0, "self-fencing margin")
  for (const ms of report.failover.kill.samples) assert.isAtMost(ms, 2 * report.leaseMs)
}

/**
 * What a sabotaged run must show: it failed, and the violation the sabotage is about was counted
 * (a checker that passes a broken system is the defect these runs look for). Its files are removed.
 */
export const assertChaosCaught = (
  report: CheckReport,
  violation: keyof Violations,
  dir: string,
  lines: ReadonlyArray<string>,
) => {
  console.log(lines.join("\n"))
  if (report.passed || report.violations[violation] === 0)
    assert.fail(`sabotage not caught: ${violation} is 0 (files kept in ${dir}):\n${lines.join("\n")}`)
  fs.rmSync(dir, { recursive: true, force: true })
}
