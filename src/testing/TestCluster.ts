import {
  Clock,
  Context,
  Duration,
  Effect,
  ExecutionStrategy,
  Exit,
  Fiber,
  Layer,
  Option,
  Scope,
  TestClock,
} from "effect"
import type { Any, Requirements } from "../core/Job.js"
import * as JobManager from "../core/JobManager.js"
import * as Scheduler from "../core/Scheduler.js"
import type { InvalidJobDefinition } from "../domain/Errors.js"
import type { JobStatus } from "../domain/JobStatus.js"
import * as HaJobs from "../HaJobs.js"
import * as MemoryStore from "../stores/memory/MemoryStore.js"
import * as Stores from "./Stores.js"

export interface InstanceOptions {
  /** Its name in statuses (default "instance-1", "instance-2", ...). */
  readonly name?: string | undefined
  /** How far its clock is ahead of the test clock, in ms (negative: behind). Default 0. */
  readonly clockOffsetMillis?: number | undefined
}

/**
 * As HaJobs.layer's, except `membership`: heartbeats are off unless asked for (`{ enabled: true }`).
 * A heartbeat is a timer, and a test that moves the TestClock by days would wake it every interval.
 */
export interface TestClusterOptions extends Omit<HaJobs.HaJobsOptions, "instance"> {
  /** How many instances, or each one's options. Default 2. */
  readonly instances?: number | ReadonlyArray<InstanceOptions> | undefined
  /** The store they share. Default: a new in-memory store (on the test clock). */
  readonly stores?: Stores.Stores | undefined
}

/** One simulated instance: what `HaJobs.layer` gives a service. */
export interface Instance {
  readonly name: string
  readonly manager: JobManager.JobManager["Type"]
  readonly scheduler: Scheduler.Scheduler["Type"]
  /**
   * Shuts it down as a service does on SIGTERM: its executions end CANCELED (reason shutdown) and
   * their leases are released, so another instance can take over at once.
   */
  readonly stop: Effect.Effect<void>
}

export interface TestCluster {
  readonly stores: Stores.Stores
  readonly instances: ReadonlyArray<Instance>
  /** The instance of that name (a defect if there is none: a mistake in the test). */
  readonly instance: (name: string) => Instance
}

/**
 * Several instances of your service in one test, each `HaJobs.layer(jobs, options)` on one shared
 * store, each with its own clock (optionally skewed), all driven by the TestClock: move time with
 * `TestClock.adjust` (or `awaitEnd`) and watch cron slots, failover and supervision happen. The
 * instances live in the current scope. Jobs' own services are required like HaJobs.layer's.
 */
export const make = <const Jobs extends Iterable<Any<any>>>(
  jobs: Jobs,
  options: TestClusterOptions = {},
): Effect.Effect<
  TestCluster,
  InvalidJobDefinition,
  Scope.Scope | Exclude<Requirements<Jobs>, JobManager.Provided>
> =>
  Effect.gen(function* () {
    const stores = options.stores ?? (yield* MemoryStore.make)
    const specs: ReadonlyArray<InstanceOptions> =
      typeof options.instances === "number" || options.instances === undefined
        ? Array.from({ length: options.instances ?? 2 }, () => ({}))
        : options.instances
    const outer = yield* Effect.context<Exclude<Requirements<Jobs>, JobManager.Provided>>()
    const instances: Array<Instance> = []
    for (const [i, spec] of specs.entries()) {
      const name = spec.name ?? `instance-${i + 1}`
      const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
      const membership = { enabled: false, ...options.membership }
      const layer = HaJobs.layer(jobs, { ...options, membership, instance: name }).pipe(
        Layer.provide(Stores.layer(stores)),
        Layer.provide(Layer.succeedContext(outer)),
      )
      // Every fiber the instance forks inherits this clock.
      const ctx = yield* Layer.buildWithScope(layer, scope).pipe(
        Effect.withClock(yield* skewedClock(spec.clockOffsetMillis ?? 0)),
      )
      instances.push({
        name,
        manager: Context.get(ctx, JobManager.JobManager),
        scheduler: Context.get(ctx, Scheduler.Scheduler),
        stop: Scope.close(scope, Exit.void),
      })
    }
    return {
      stores,
      instances,
      instance: (name) => {
        const found = instances.find((i) => i.name === name)
        if (found === undefined) throw new Error(`no instance named ${name} in this test cluster`)
        return found
      },
    }
  })

/** A clock `offsetMillis` ahead of (negative: behind) the current one, e.g. the TestClock. */
export const skewedClock = (offsetMillis: number): Effect.Effect<Clock.Clock> =>
  Effect.map(
    Effect.clock,
    (base): Clock.Clock => ({
      [Clock.ClockTypeId]: Clock.ClockTypeId,
      unsafeCurrentTimeMillis: () => base.unsafeCurrentTimeMillis() + offsetMillis,
      currentTimeMillis: Effect.map(base.currentTimeMillis, (t) => t + offsetMillis),
      unsafeCurrentTimeNanos: () => base.unsafeCurrentTimeNanos() + BigInt(offsetMillis) * 1_000_000n,
      currentTimeNanos: Effect.map(base.currentTimeNanos, (t) => t + BigInt(offsetMillis) * 1_000_000n),
      sleep: (d) => base.sleep(d),
    }),
  )

/**
 * Waits for an execution to end under the TestClock, moving it forward `step` at a time (default
 * 1 second) for at most `within` of test time (default 1 hour). Its final status, or None if it
 * was still running then.
 */
export const awaitEnd = (
  manager: JobManager.JobManager["Type"],
  jobId: string,
  options: { readonly step?: Duration.DurationInput; readonly within?: Duration.DurationInput } = {},
): Effect.Effect<Option.Option<JobStatus>> =>
  Effect.gen(function* () {
    const step = Duration.decode(options.step ?? "1 second")
    const steps = Math.ceil(
      Duration.toMillis(options.within ?? "1 hour") / Math.max(1, Duration.toMillis(step)),
    )
    const ended = yield* Effect.fork(manager.awaitExecution(jobId))
    for (let i = 0; i <= steps; i++) {
      if (Option.isSome(yield* Fiber.poll(ended))) return yield* Fiber.join(ended)
      yield* TestClock.adjust(step)
    }
    yield* Fiber.interrupt(ended)
    return Option.none()
  })
