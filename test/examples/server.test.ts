import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, assert, describe, it } from "vitest"
import { describePostgres, freshSchema, url } from "../setup/postgres.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-start-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** `npm start` with the store's variables: it serves the dashboard and the API, and its cron job runs. */
const startsAndServes = async (store: Record<string, string>, storeLine: RegExp) => {
  const started = Date.now()
  const child = spawn("npm", ["start", "--silent"], {
    env: {
      ...process.env,
      PORT: "0",
      ...store,
      HA_JOBS_IMPORT_CRON: "0/2 * * * * ?", // shortened from every minute
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // npm's child (tsx) gets the signal too
  })
  let output = ""
  child.stdout.on("data", (d) => (output += d))
  child.stderr.on("data", (d) => (output += d))
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const m = output.match(/dashboard on (http:\/\/\S+)\/jobsOverview/)
        // Both lines: the service's line naming its store may come after the dashboard's.
        if (m && storeLine.test(output)) {
          clearInterval(timer)
          resolve(m[1]!)
        } else if (Date.now() - started > 30_000) {
          clearInterval(timer)
          reject(new Error(`no dashboard URL, or no line matching ${storeLine}, in 30 s:\n${output}`))
        }
      }, 50)
    })
    console.log(`npm start answered after ${Date.now() - started} ms at ${url}`)
    // The store it says it uses (and so not the default SQLite file by mistake).
    assert.match(output, storeLine)
    const overview = await fetch(`${url}/jobsOverview`)
    assert.strictEqual(overview.status, 200)
    assert.include(await overview.text(), "<html")
    const jobs = (await (await fetch(`${url}/jobs`)).json()) as { jobTypes: Array<string> }
    assert.includeMembers(jobs.jobTypes, ["product-import", "queue-consumer", "sales-report", "supervisor"])
    const deadline = Date.now() + 20_000
    let state: string | undefined
    while (Date.now() < deadline && state !== "FINISHED") {
      const res = await fetch(`${url}/jobs/product-import?limit=5`)
      const body = (await res.json()) as { jobs: Array<{ jobState: string; triggerSource: string }> }
      state = body.jobs.find((j) => j.triggerSource === "cron" && j.jobState === "FINISHED")?.jobState
      if (state !== "FINISHED") await new Promise((r) => setTimeout(r, 250))
    }
    assert.strictEqual(state, "FINISHED", output)
  } finally {
    process.kill(-child.pid!, "SIGTERM")
    await new Promise((r) => child.once("exit", r))
  }
}

describe("npm start", () => {
  it(
    "on SQLite (the default): serves /jobsOverview and /jobs, and its cron job runs",
    () =>
      startsAndServes(
        { HA_JOBS_SQLITE_PATH: path.join(dir, "start.db") },
        /example service, .*SQLite at .*start\.db/,
      ),
    60_000,
  )
})

describePostgres("npm start with HA_JOBS_STORE=postgres", () => {
  const schema = freshSchema()
  it(
    "on this machine's PostgreSQL: serves /jobsOverview and /jobs, and its cron job runs",
    () =>
      startsAndServes(
        { HA_JOBS_STORE: "postgres", DATABASE_URL: url, HA_JOBS_PG_SCHEMA: schema },
        new RegExp(`example service, .*PostgreSQL.*${schema}`),
      ),
    60_000,
  )
})
