import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, it } from "vitest"
import { runChaos } from "../../chaos/run.js"
import { assertChaosPassed } from "../support/chaos.js"

// The short variant of `npm run chaos`: three real worker processes on one SQLite file, each with its
// Effect Clock off by up to 30 s, a fenced ledger, and a handful of random faults (SIGKILL + restart,
// SIGSTOP longer than the lease, an event-loop stall, a held exclusive SQLite lock, a flood of the
// holder's HTTP API with /events streams and requests). Reproducible with
// CHAOS_SEED; the long run is `npm run chaos -- --faults 1000`. test/chaos/sabotage.test.ts shows
// that the same checker fails when a guarantee is broken on purpose.
describe("fault injection on SQLite (chaos, short)", () => {
  it("no overlap, increasing tokens, no stale write accepted, each cron slot once, nothing left PENDING", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-chaos-test-"))
    const seed = Number(process.env.CHAOS_SEED ?? "42")
    const lines: Array<string> = []
    const report = await runChaos({ dir, faults: 9, seconds: 60, seed, log: (l) => lines.push(l) })
    assertChaosPassed(report, dir, lines)
  }, 240_000)
})
