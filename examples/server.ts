/**
 * The main job (`npm start`): the examples as a running service on the embedded store. The product
 * import runs every minute (cron), the queue consumer runs continuously on one instance, the sales
 * report sometimes fails and is retried, and the supervisor watches them. The HTTP API and
 * the dashboard are served on PORT (default 9000): http://localhost:9000/jobsOverview. Start it
 * twice (another PORT, same HA_JOBS_SQLITE_PATH) to see failover. Ctrl-C / SIGTERM shuts down gracefully: running
 * jobs are recorded CANCELED with reason shutdown and their leases released.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Config, Effect, Layer, Logger, Queue, Schedule } from "effect"
import { Env, Errors, HaJobs, HaJobsHttp, Job, JobManager, Store } from "../src/index.js"
import { flakyReport } from "./flakyReport.js"
import { ProductFeed, productImport } from "./productImport.js"
import { OrderQueue, Processed, queueConsumer } from "./queueConsumer.js"

/**
 * The example's own variables, a newcomer (or a test) may set; declared like the library's (Env),
 * and listed in README's table of the example (test/docs/envTable.test.ts compares).
 */
export const Variables = {
  instance: Env.optional("HA_JOBS_INSTANCE", Config.string, {
    description: "This instance's name in statuses (the instance option).",
    unset: "hostname:pid",
  }),
  importCron: Env.withDefault("HA_JOBS_IMPORT_CRON", Config.string, {
    default: "0 * * * * ?",
    description: "The product import's schedule.",
  }),
  consumerLease: Env.withDefault("HA_JOBS_CONSUMER_LEASE", Config.duration, {
    default: "30 seconds",
    description: "The queue consumer's lease ttl.",
  }),
  supervisorCron: Env.withDefault("HA_JOBS_SUPERVISOR_CRON", Config.string, {
    default: "0/10 * * * * ?",
    description: "How often the supervisor runs.",
  }),
  reportEvery: Env.withDefault("HA_JOBS_REPORT_EVERY", Config.duration, {
    default: "5 seconds",
    description: "How often it puts an order on the consumer's queue and prints the statuses.",
  }),
  logLevel: Env.withDefault("HA_JOBS_LOG_LEVEL", Config.logLevel, {
    default: "Info",
    description: "The least level logged; debug also prints the stack of a start-up failure.",
  }),
}

const Settings = Config.all({
  instance: Variables.instance.config,
  importCron: Variables.importCron.config,
  consumerLease: Variables.consumerLease.config,
  supervisorCron: Variables.supervisorCron.config,
  reportEvery: Variables.reportEvery.config,
  // The library's own variable: the ha-jobs mode sets the defaults here and the API's answers there.
  compat: Env.Compat.config,
})

const ServiceLayer = Layer.unwrapEffect(
  Effect.map(Settings, (s) =>
    HaJobs.layer(
      [
        Job.make({ ...productImport, cron: s.importCron }),
        Job.make({ ...queueConsumer, lease: { ttl: s.consumerLease } }),
        flakyReport,
      ],
      {
        supervisor: { cron: s.supervisorCron },
        compat: s.compat,
        instance: s.instance._tag === "Some" ? s.instance.value : undefined,
      },
    ),
  ),
).pipe(
  Layer.provideMerge(Layer.mergeAll(ProductFeed.sample, OrderQueue.layer, Processed.layer)),
  Layer.provide(Store.layerFromEnv()),
)

const report = (jobType: string) =>
  Effect.gen(function* () {
    const manager = yield* JobManager.JobManager
    const [latest] = yield* manager.list(jobType, { limit: 1 })
    if (latest)
      yield* Effect.log(
        `${jobType}: ${latest.jobState} token=${latest.fencingToken ?? "-"} attempt=${latest.attempt} instance=${latest.instance ?? "-"} content=${JSON.stringify(latest.content ?? null)}${latest.reason ? ` reason=${latest.reason}` : ""}`,
      )
  })

export const main = Effect.gen(function* () {
  const manager = yield* JobManager.JobManager
  const queue = yield* OrderQueue
  const settings = yield* Settings
  yield* Effect.log(
    `effect-ha-jobs example service, instance ${manager.instance}, ${yield* Store.describeFromEnv}; jobs: ${manager.jobTypes.join(", ")}`,
  )
  let order = 0
  yield* Effect.suspend(() => Queue.offer(queue, { id: ++order })).pipe(
    Effect.zipRight(Effect.forEach(manager.jobTypes, report, { discard: true })),
    Effect.repeat(Schedule.spaced(settings.reportEvery)),
  )
}).pipe(Effect.provide(HaJobsHttp.layerServer().pipe(Layer.provideMerge(ServiceLayer))))

/**
 * A failure (at start-up: a store it cannot use, a bad setting) as one line, the cause and its
 * stack only at debug level (HA_JOBS_LOG_LEVEL=debug); runMain then exits with code 1.
 */
const reportFailure = (cause: Cause.Cause<unknown>) =>
  Cause.isInterruptedOnly(cause)
    ? Effect.void
    : Effect.logError(`effect-ha-jobs example service stopped: ${Errors.failureMessage(cause)}`).pipe(
        Effect.zipRight(Effect.logDebug(Cause.pretty(cause))),
      )

if (import.meta.url === `file://${process.argv[1]}`)
  NodeRuntime.runMain(
    main.pipe(
      Effect.tapErrorCause(reportFailure),
      Effect.provide(Layer.unwrapEffect(Effect.map(Variables.logLevel.config, Logger.minimumLogLevel))),
    ),
    { disableErrorReporting: true },
  )
