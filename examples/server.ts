/**
 * The main job (`npm start`): the examples as a running service on the in-memory store. The product
 * import runs every minute, the queue consumer runs continuously; Ctrl-C shuts down gracefully
 * (running jobs are recorded CANCELED with reason shutdown and their leases released).
 *
 * Until the scheduler, HTTP API and SQLite store land, the minute loop is a plain Effect schedule
 * and statuses are printed to the console.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Queue, Schedule } from "effect"
import { JobManager, MemoryLayer } from "../src/index.js"
import { ProductFeed, productImport } from "./productImport.js"
import { OrderQueue, Processed, queueConsumer } from "./queueConsumer.js"

const ServiceLayer = JobManager.layerWithRunner([productImport, queueConsumer]).pipe(
  Layer.provideMerge(Layer.mergeAll(ProductFeed.sample, OrderQueue.layer, Processed.layer)),
  Layer.provide(MemoryLayer),
)

const report = (jobType: string) =>
  Effect.gen(function* () {
    const manager = yield* JobManager.JobManager
    const [latest] = yield* manager.list(jobType, { limit: 1 })
    if (latest)
      yield* Effect.log(
        `${jobType}: ${latest.jobState} token=${latest.fencingToken ?? "-"} content=${JSON.stringify(latest.content ?? null)}`,
      )
  })

export const main = Effect.gen(function* () {
  const manager = yield* JobManager.JobManager
  const queue = yield* OrderQueue
  yield* Effect.log(
    `effect-ha-jobs example service (instance ${manager.instance}, in-memory store): ${manager.jobTypes.join(", ")}`,
  )
  yield* manager.trigger("queue-consumer")
  yield* Effect.fork(manager.trigger("product-import").pipe(Effect.repeat(Schedule.spaced("1 minute"))))
  let order = 0
  yield* Effect.suspend(() => Queue.offer(queue, { id: ++order })).pipe(
    Effect.zipRight(Effect.all([report("product-import"), report("queue-consumer")], { discard: true })),
    Effect.repeat(Schedule.spaced("5 seconds")),
  )
}).pipe(Effect.provide(ServiceLayer))

if (import.meta.url === `file://${process.argv[1]}`) NodeRuntime.runMain(main)
