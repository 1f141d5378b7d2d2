import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import Database from "better-sqlite3"
import { afterAll, afterEach, assert, describe, it } from "vitest"

// Real processes: two `npm start` instances (examples/server.ts) on one SQLite file.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-failover-"))
const children: Array<ChildProcess> = []
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL")
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const LEASE_MS = 3_000 // renewals every 1 s

const startInstance = (db: string, instance: string) => {
  const child = spawn(process.execPath, ["--import", "tsx", "examples/server.ts"], {
    env: {
      ...process.env,
      HA_JOBS_STORE: "sqlite",
      HA_JOBS_SQLITE_PATH: db,
      HA_JOBS_INSTANCE: instance,
      HA_JOBS_CONSUMER_LEASE: `${LEASE_MS} millis`,
      HA_JOBS_IMPORT_CRON: "0 0 0 1 1 ? 2099",
      PORT: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  })
  let output = ""
  child.stdout!.on("data", (d) => (output += d))
  child.stderr!.on("data", (d) => (output += d))
  children.push(child)
  return { child, output: () => output }
}

interface Execution {
  readonly jobId: string
  readonly instance: string
  readonly token: number
  readonly startedAt: number
  readonly state: string
  readonly endedAt: number
}

/** The consumer's executions as the store recorded them (first and last status of each). */
const executions = (db: string): Array<Execution> => {
  if (!fs.existsSync(db)) return []
  const conn = new Database(db, { readonly: true, fileMustExist: true })
  try {
    return conn
      .prepare(
        `SELECT job_id AS jobId, instance, fencing_token AS token, job_state AS state,
           (SELECT MIN(job_status_ts) FROM ha_status_history h WHERE h.job_id = e.job_id) AS startedAt,
           job_status_ts AS endedAt
         FROM ha_executions e WHERE job_type = 'queue-consumer' ORDER BY job_id`,
      )
      .all() as Array<Execution>
  } catch {
    return []
  } finally {
    conn.close()
  }
}

const waitFor = async <A>(what: string, probe: () => A | undefined, timeoutMs = 30_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = probe()
    if (value !== undefined) return value
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

const runningOn = (db: string, instance: string) => () =>
  executions(db).find((e) => e.instance === instance && e.state === "RUNNING")

const checkHistory = (all: ReadonlyArray<Execution>) => {
  for (let i = 1; i < all.length; i++) assert.isAbove(all[i]!.token, all[i - 1]!.token, "tokens increase")
}

describe("failover between real processes on one SQLite file", () => {
  for (const [signal, bound] of [
    ["SIGKILL", LEASE_MS + 1_000 + 500], // lease + one renewal interval (+ process scheduling)
    ["SIGTERM", 1_000 + 500], // leases released at shutdown
  ] as const) {
    it(`${signal} of the holder: the survivor runs the continuous job within ${bound} ms, never both at once`, async () => {
      const db = path.join(dir, `${signal}.db`)
      const a = startInstance(db, "a")
      await waitFor("a to run the consumer", runningOn(db, "a"))
      const b = startInstance(db, "b")
      await waitFor("b to start", () => (/instance b/.test(b.output()) ? true : undefined))
      await new Promise((r) => setTimeout(r, 1_500))
      assert.isUndefined(runningOn(db, "b")(), "b must not run the consumer while a holds it")
      const signalledAt = Date.now()
      a.child.kill(signal)
      const survivor = await waitFor("b to take over", runningOn(db, "b"), 20_000)
      const failover = survivor.startedAt - signalledAt
      console.log(`failover after ${signal}: ${failover} ms (lease ${LEASE_MS} ms)`)
      assert.isAtMost(failover, bound)
      const all = executions(db)
      checkHistory(all)
      const before = all.find((e) => e.instance === "a")!
      assert.isBelow(before.token, survivor.token)
      if (signal === "SIGTERM") {
        await waitFor("a to exit", () => (a.child.exitCode !== null ? true : undefined))
        const final = executions(db).find((e) => e.jobId === before.jobId)!
        assert.strictEqual(final.state, "CANCELED")
        assert.isAtMost(final.endedAt, survivor.startedAt)
      } else {
        assert.isAtLeast(survivor.startedAt, signalledAt)
      }
    }, 60_000)
  }

  it("an unwritable database path: a clear error naming the path, non-zero exit", async () => {
    const blocker = path.join(dir, "blocker")
    fs.writeFileSync(blocker, "not a directory")
    const db = path.join(blocker, "ha-jobs.db")
    const bad = startInstance(db, "x")
    const code = await waitFor("the process to exit", () => bad.child.exitCode ?? undefined, 30_000)
    assert.notStrictEqual(code, 0)
    assert.include(bad.output(), `cannot use the SQLite database at ${db}`)
  }, 40_000)
})
