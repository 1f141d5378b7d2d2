import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, it } from "vitest"
import { clusterContactPoints, clusterNodes } from "../../chaos/cluster.js"
import { runChaos } from "../../chaos/run.js"
import { assertChaosPassed } from "../support/chaos.js"

// The short variant of `npm run chaos -- --store cassandra-cluster`: three worker processes on a
// keyspace with a replica on each node of the three-node cluster (RF 3), a fenced ledger, and one
// round of every fault kind: the worker faults (kill, pause, event-loop stall, flood) and the
// cluster's: kill -9 of a node (and of the continuous job's holder while it is down) then its
// restart, a node frozen past the LWT timeout, a node cut off, a node cut off from the clients only,
// two nodes frozen (no quorum). Nothing may be violated; every cron slot due while a quorum was up
// must run. The long run's figures are in BENCHMARKS.md (chaos-cassandra-cluster).
//
// Runs when CASSANDRA_CLUSTER_CONTACT_POINTS names the nodes of scripts/cassandra/cluster-start.sh
// (and as root); otherwise it skips, saying why, unless CI=true (.ci/run starts the cluster).
const configured = process.env.CASSANDRA_CLUSTER_CONTACT_POINTS !== undefined
const found = configured
  ? clusterNodes(clusterContactPoints())
  : { why: "CASSANDRA_CLUSTER_CONTACT_POINTS is not set" }
const why = "why" in found ? found.why : undefined
if (why !== undefined) {
  const message = `the Cassandra cluster chaos test needs the cluster of npm run cassandra:cluster:start: ${why}`
  if (process.env.CI === "true") throw new Error(message)
  console.warn(`[cassandra cluster tests] SKIPPED ${message}`)
}

it.skipIf(why !== undefined)(
  "fault injection on the three-node Cassandra cluster (short): no violation, every slot run while a quorum was up",
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-chaos-cluster-test-"))
    const lines: Array<string> = []
    const report = await runChaos({
      dir,
      store: "cassandra-cluster",
      faults: 9,
      seconds: 240,
      seed: Number(process.env.CHAOS_SEED ?? "3"),
      log: (l) => lines.push(l),
    })
    assertChaosPassed(report, dir, lines, [
      "node-kill",
      "node-pause",
      "node-partition",
      "client-partition",
      "two-down",
    ])
    assert.isAbove(report.quorumUpSlots.due, 0, "no slot fell in a cluster fault")
    assert.strictEqual(report.quorumUpSlots.ran, report.quorumUpSlots.due)
  },
  // One retry: a known, open liveness gap (issue 16) can cost a slot in a run. A claim whose write
  // landed but whose attempt was cut off at the scheduler's 10 s bound leaves a per-second slot
  // claimed and unrun: 3 of 575 quorum-up slots in a 150-fault run (BENCHMARKS.md). Safety
  // violations fail every run; a run that fails twice is a regression, not this gap.
  { timeout: 600_000, retry: 1 },
)
