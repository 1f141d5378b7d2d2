import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "vitest"
import { runChaos } from "../../chaos/run.js"

// The short variant of `npm run chaos`: three real worker processes on one SQLite file, a fenced
// ledger, and a handful of random faults (SIGKILL + restart, SIGSTOP longer than the lease, a held
// exclusive SQLite lock). Reproducible with CHAOS_SEED; the long run is `npm run chaos -- --faults 1000`.
describe("fault injection on SQLite (chaos, short)", () => {
  it("no overlap, increasing tokens, no stale write accepted, each cron slot once, nothing left PENDING", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-chaos-test-"))
    const seed = Number(process.env.CHAOS_SEED ?? "42")
    const lines: Array<string> = []
    const report = await runChaos({ dir, faults: 9, seconds: 60, seed, log: (l) => lines.push(l) })
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
    })
    assert.isAtLeast(report.faults.kill!, 1)
    assert.isAtLeast(report.faults.pause!, 1)
    assert.isAtLeast(report.faults.stall!, 1)
    // Failover after a kill of the holder: at most the lease plus one renewal interval and the watch interval; bounded loosely (2 x lease) for loaded CI machines.
    for (const ms of report.failover.kill.samples) assert.isAtMost(ms, 2 * report.leaseMs)
  }, 240_000)
})
