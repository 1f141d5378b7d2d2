import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import pg from "pg"
import { assert, it } from "vitest"
import { touchedBackends } from "../../chaos/postgres.js"
import { type Fault, runChaos } from "../../chaos/run.js"
import { describePostgres, url } from "../setup/postgres.js"
import { assertChaosPassed } from "../support/chaos.js"

// The short PostgreSQL variant of `npm run chaos -- --store postgres`: three real worker processes on
// PgStore in a fresh schema of the local server (dropped after), a fenced ledger, and one round of
// the six fault kinds: SIGKILL + restart of a worker, SIGSTOP of a worker longer than the lease, an
// event-loop stall, a store stall (SIGSTOP of the backends serving the workers), a storm of
// pg_terminate_backend on them, a flood of the holder's HTTP API. Never the server restart: the
// suite's other PostgreSQL tests use the same server at the same time. Nor may the stall or the storm
// touch them: the faults select backends by the run's own application_name, and a bystander
// connection named like every other PgStore's ("effect-ha-jobs") must be answered during each of
// those faults and never be stopped or terminated.
describePostgres("fault injection on PostgreSQL (chaos, short)", () => {
  it("no overlap, increasing tokens, no stale write accepted, each cron slot once, nothing left PENDING; other connections untouched", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-chaos-postgres-test-"))
    const seed = Number(process.env.CHAOS_SEED ?? "11")
    const lines: Array<string> = []

    const bystander = new pg.Client({ connectionString: url, application_name: "effect-ha-jobs" })
    bystander.on("error", () => {})
    await bystander.connect()
    const bystanderPid = Number((await bystander.query("SELECT pg_backend_pid() AS pid")).rows[0].pid)
    const pings: Array<{ readonly sent: number; readonly answered: number }> = []
    const errors: Array<string> = []
    let pinging = true
    const pinger = (async () => {
      while (pinging) {
        const sent = Date.now()
        try {
          await bystander.query("SELECT 1")
          pings.push({ sent, answered: Date.now() })
        } catch (e) {
          errors.push(String(e))
          return
        }
        await new Promise((r) => setTimeout(r, 100))
      }
    })()

    let faults: Array<Fault> = []
    try {
      const report = await runChaos({
        dir,
        store: "postgres",
        databaseUrl: url,
        restart: false,
        faults: 6,
        seconds: 75,
        seed,
        log: (l) => lines.push(l),
      })
      faults = (
        JSON.parse(fs.readFileSync(path.join(dir, "faults.json"), "utf8")) as { faults: Array<Fault> }
      ).faults
      assertChaosPassed(report, dir, lines, ["stall", "terminate"])
    } finally {
      pinging = false
      await pinger
      await bystander.end().catch(() => undefined)
    }

    assert.deepStrictEqual(errors, [], "the bystander connection failed")
    assert.isFalse(touchedBackends.has(bystanderPid), "the bystander's backend was stopped or terminated")
    for (const f of faults.filter((f) => f.kind === "stall" || f.kind === "terminate")) {
      assert.isAbove(f.backends ?? 0, 0, `${f.kind} hit no backend of the workers`)
      const answered = pings.filter((p) => f.start <= p.sent && p.answered <= f.end)
      const slowest = Math.max(
        0,
        ...pings.filter((p) => p.answered >= f.start && p.sent <= f.end).map((p) => p.answered - p.sent),
      )
      console.log(
        `bystander during the ${f.kind} (${f.end - f.start} ms): ${answered.length} pings answered, slowest ${slowest} ms`,
      )
      assert.isAtLeast(answered.length, 1, `the bystander was not answered during the ${f.kind}`)
    }
  }, 300_000)
})
