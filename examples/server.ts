/**
 * The main job (`npm start`): the examples as a running service. The product import runs every
 * minute (cron), the queue consumer runs continuously, the sales report sometimes fails and is
 * retried, and the supervisor watches them. Ctrl-C shuts down gracefully: running jobs are recorded
 * CANCELED with reason shutdown and their leases released.
 *
 * Until the HTTP API and the SQLite store land, it runs on the in-memory store and prints statuses.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Queue, Schedule } from "effect"
import { HaJobs, JobManager, MemoryLayer } from "../src/index.js"
import { flakyReport } from "./flakyReport.js"
import { ProductFeed, productImport } from "./productImport.js"
import { OrderQueue, Processed, queueConsumer } from "./queueConsumer.js"

const ServiceLayer = HaJobs.layer([productImport, queueConsumer, flakyReport], {
  supervisor: { cron: "0/10 * * * * ?" },
}).pipe(
  Layer.provideMerge(Layer.mergeAll(ProductFeed.sample, OrderQueue.layer, Processed.layer)),
  Layer.provide(MemoryLayer),
)

const report = (jobType: string) =>
  Effect.gen(function* () {
    const manager = yield* JobManager.JobManager
    const [latest] = yield* manager.list(jobType, { limit: 1 })
    if (latest)
      yield* Effect.log(
        `${jobType}: ${latest.jobState} token=${latest.fencingToken ?? "-"} attempt=${latest.attempt} content=${JSON.stringify(latest.content ?? null)}${latest.reason ? ` reason=${latest.reason}` : ""}`,
      )
  })

export const main = Effect.gen(function* () {
  const manager = yield* JobManager.JobManager
  const queue = yield* OrderQueue
  yield* Effect.log(
    `effect-ha-jobs example service (instance ${manager.instance}, in-memory store): ${manager.jobTypes.join(", ")}`,
  )
  let order = 0
  yield* Effect.suspend(() => Queue.offer(queue, { id: ++order })).pipe(
    Effect.zipRight(Effect.forEach(manager.jobTypes, report, { discard: true })),
    Effect.repeat(Schedule.spaced("5 seconds")),
  )
}).pipe(Effect.provide(ServiceLayer))

if (import.meta.url === `file://${process.argv[1]}`) NodeRuntime.runMain(main)
