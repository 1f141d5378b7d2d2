/**
 * Example 3: a continuous queue consumer. Its `run` never ends: it holds its lease, renewed every
 * ttl/3, until it is cancelled, loses the lease, or the manager shuts down. Every message is
 * processed with the fencing token, so a store that sees a higher token can refuse a stale consumer.
 * Run it: `npx tsx examples/queueConsumer.ts` (Ctrl-C to stop).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Context, Effect, Layer, Queue, Ref, Schedule } from "effect"
import { Job, JobContext, JobManager, MemoryStore } from "../src/index.js"

export interface Order {
  readonly id: number
}

/** The queue the consumer drains; in production a broker client. */
export class OrderQueue extends Context.Tag("examples/OrderQueue")<OrderQueue, Queue.Queue<Order>>() {
  static readonly layer = Layer.effect(OrderQueue, Queue.unbounded<Order>())
}

/** Records what was processed and under which token (a stand-in for a protected resource). */
export class Processed extends Context.Tag("examples/Processed")<
  Processed,
  Ref.Ref<ReadonlyArray<{ readonly order: number; readonly token: number }>>
>() {
  static readonly layer = Layer.effect(
    Processed,
    Ref.make<ReadonlyArray<{ order: number; token: number }>>([]),
  )
}

export const queueConsumer = Job.make({
  type: "queue-consumer",
  continuous: true, // every instance starts it when nobody holds its lock
  lease: { ttl: "30 seconds" },
  run: Effect.gen(function* () {
    const ctx = yield* JobContext.JobContext
    const queue = yield* OrderQueue
    const processed = yield* Processed
    return yield* Queue.take(queue).pipe(
      Effect.flatMap((order) =>
        Ref.update(processed, (ps) => [...ps, { order: order.id, token: ctx.fencingToken }]),
      ),
      Effect.tap(() => Effect.flatMap(Ref.get(processed), (ps) => ctx.progress({ processed: ps.length }))),
      Effect.forever,
    )
  }),
})

export const ExampleLayer = JobManager.layerWithRunner([queueConsumer]).pipe(
  Layer.provideMerge(Layer.mergeAll(OrderQueue.layer, Processed.layer)),
  Layer.provide(MemoryStore.layer),
)

if (import.meta.url === `file://${process.argv[1]}`) {
  Effect.gen(function* () {
    const manager = yield* JobManager.JobManager
    const queue = yield* OrderQueue
    const started = yield* manager.trigger("queue-consumer")
    yield* Effect.log(`consumer: ${started._tag}`)
    let next = 1
    yield* Effect.suspend(() => Queue.offer(queue, { id: next++ })).pipe(
      Effect.tap(() => Effect.log(`offered order ${next - 1}`)),
      Effect.repeat(Schedule.spaced("1 second")),
    )
  }).pipe(Effect.provide(ExampleLayer), NodeRuntime.runMain)
}
