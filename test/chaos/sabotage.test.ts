import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, it } from "vitest"
import type { Violations } from "../../chaos/check.js"
import { runChaos, type Sabotage } from "../../chaos/run.js"
import { assertChaosCaught } from "../support/chaos.js"

// Every chaos check must be able to fail (DESIGN.md, property 13): each sabotage switch breaks one
// guarantee on purpose, and the checker must count the matching violation. Kept short: one fault
// (the pause of the continuous holder that run.ts forces first for the two modes that need a stale
// writer; none for no-slot-claim, which breaks at every slot) and a quiet period only as long as the
// evidence needs, since nothing here waits for the supervisor: the rogue beats of ignore-lease-loss
// go on for 8 s after the pause, and only those later than one lease after it count as overlap. Clock skew stays small: with +-30 s two workers fire the
// same slot only while both clocks are past it and both are up, a few seconds of a run this short.
const cases: ReadonlyArray<readonly [Sabotage, keyof Violations, faults: number, quietMs: number]> = [
  ["ignore-lease-loss", "overlap", 1, 6_000],
  ["no-fencing-check", "staleAccepted", 1, 3_000],
  ["no-slot-claim", "slotRunTwice", 0, 5_000],
  // A worker that dies by itself (an uncaught error in a timer) is a violation, not a quiet gap.
  ["crash", "workerCrashed", 0, 8_000],
]

describe("chaos sabotage: the checker catches a broken guarantee (SQLite, short)", () => {
  for (const [sabotage, violation, faults, quietMs] of cases)
    it(`--sabotage ${sabotage} fails with ${violation} > 0`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ha-jobs-chaos-${sabotage}-`))
      const seed = Number(process.env.CHAOS_SEED ?? "42")
      const lines: Array<string> = []
      const report = await runChaos({
        dir,
        faults,
        seconds: 30,
        workers: 2,
        seed,
        sabotage,
        skewMs: 1_000,
        quietMs,
        log: (l) => lines.push(l),
      })
      assertChaosCaught(report, violation, dir, lines)
    }, 180_000)
})
