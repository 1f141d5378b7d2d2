// A consumer of the packed library, in plain JavaScript on plain Node (no tsx, no TypeScript):
// run from a folder whose node_modules/effect-ha-jobs is the extracted `npm pack` tarball.
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect, Layer, Option } from "effect"
import { HaJobs, HaJobsHttp, Job, JobManager, SqliteStore } from "effect-ha-jobs"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-consumer-"))
const hello = Job.make({ type: "hello", run: Effect.succeed({ greeting: "hello" }) })
const jobs = HaJobs.layer([hello], { supervisor: false }).pipe(
  Layer.provide(SqliteStore.layer({ filename: path.join(dir, "consumer.db") })),
)

const status = await Effect.runPromise(
  Effect.scoped(
    Effect.gen(function* () {
      const manager = yield* JobManager.JobManager
      const started = yield* manager.trigger("hello")
      const done = yield* manager.awaitExecution(started.jobId)
      return Option.getOrThrow(done)
    }).pipe(Effect.provide(jobs)),
  ),
)

// The dashboard's static files and the HTTP API, from the package.
const web = HaJobsHttp.toWebHandler(jobs)
const page = await web.handler(new Request("http://localhost/jobsOverview"))
const html = await page.text()
const list = await web.handler(new Request("http://localhost/jobs/hello?limit=5"))
const { jobs: rows } = await list.json()
await web.dispose()
fs.rmSync(dir, { recursive: true, force: true })

console.log(
  JSON.stringify({
    state: status.jobState,
    content: status.content,
    dashboard: page.status,
    dashboardHasScript: html.includes("<script"),
    listed: list.status,
    rows: Array.isArray(rows) ? rows.length : -1,
  }),
)
