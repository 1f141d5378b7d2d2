/**
 * One process of a `npm run bench:scale -- --processes P` point: instances `--from`..`--to` (exclusive)
 * of the point's J job types on the shared store (a SQLite file or a PostgreSQL schema), started by
 * bench/scale.ts over IPC. It says `ready` once its instances run, counts from the parent's `count`
 * window, then sends what it saw (ChildResult) and exits.
 */
import { Effect, Layer, Scope } from "effect"
import * as HaJobs from "../src/HaJobs.js"
import * as Stores from "../src/testing/Stores.js"
import { type ChildResult, counter, openStore, type StoreKind, scaleJobs } from "./scaleParts.js"

const arg = (name: string) => {
  const i = process.argv.indexOf(name)
  if (i === -1) throw new Error(`scaleChild: ${name} missing`)
  return process.argv[i + 1]!
}
const send = (message: unknown) =>
  Effect.async<void>((resume) => {
    process.send!(message, undefined, {}, () => resume(Effect.void))
  })
const window = new Promise<{ from: number; until: number }>((resolve) =>
  process.once("message", (m) => resolve(m as { from: number; until: number })),
)

const main = Effect.gen(function* () {
  const kind = arg("--store") as StoreKind
  const [from, to] = [Number(arg("--from")), Number(arg("--to"))]
  const calls = counter()
  const stores = calls.wrap(yield* openStore(kind, arg("--location"), 6))
  const runs: Record<string, number> = {}
  const lags: Array<number> = []
  let counting = false
  const jobs = scaleJobs(arg("--tag"), Number(arg("--jobs")), (jobType, slot) => {
    if (!counting) return
    lags.push(Date.now() - slot)
    runs[`${jobType}@${slot}`] = (runs[`${jobType}@${slot}`] ?? 0) + 1
  })
  const scope = yield* Scope.make()
  const started = Date.now()
  for (let n = from; n < to; n++)
    yield* Layer.buildWithScope(
      HaJobs.layer(jobs, { instance: `i${n}`, supervisor: false }).pipe(Layer.provide(Stores.layer(stores))),
      scope,
    )
  const startupMs = Date.now() - started
  yield* send({ ready: true })
  const { from: countFrom, until } = yield* Effect.promise(() => window)
  yield* Effect.sleep(Math.max(0, countFrom - Date.now()))
  counting = true
  calls.start()
  const cpuBefore = process.cpuUsage()
  yield* Effect.sleep(Math.max(0, until - Date.now()))
  counting = false
  calls.stop()
  const cpu = process.cpuUsage(cpuBefore)
  if (calls.firstError)
    console.error(`bench:scale child ${from}-${to}: first failed store call: ${calls.firstError}`)
  const result: ChildResult = {
    startupMs,
    runs,
    lags,
    calls: calls.snapshot(),
    cpuMs: (cpu.user + cpu.system) / 1000,
    rssBytes: process.memoryUsage().rss,
  }
  yield* send(result)
})

Effect.runPromise(Effect.scoped(main)).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
