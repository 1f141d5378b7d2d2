/**
 * The main job (`npm start`): the examples as a running service on the embedded store. The product
 * import runs every minute (cron), the queue consumer runs continuously on one instance, the sales
 * report sometimes fails and is retried, and the supervisor watches them. The HTTP API and
 * the dashboard are served on PORT (default 9000): http://localhost:9000/jobsOverview. Start it
 * twice (another PORT, same HA_JOBS_SQLITE_PATH) to see failover. Ctrl-C / SIGTERM shuts down gracefully: running
 * jobs are recorded CANCELED with reason shutdown and their leases released.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Config, Effect, Layer, Logger, LogLevel, Queue, Schedule } from "effect"
import { failureMessage, HaJobs, HaJobsHttp, Job, JobManager } from "../src/index.js"
import * as StoreLayer from "../src/layers/StoreLayer.js"
import { flakyReport } from "./flakyReport.js"
import { ProductFeed, productImport } from "./productImport.js"
import { OrderQueue, Processed, queueConsumer } from "./queueConsumer.js"

/** Settings a newcomer (or a test) may change through the environment. */
const Settings = Config.all({
  instance: Config.string("HA_JOBS_INSTANCE").pipe(Config.option),
  importCron: Config.string("HA_JOBS_IMPORT_CRON").pipe(Config.withDefault("0 * * * * ?")),
  consumerLease: Config.duration("HA_JOBS_CONSUMER_LEASE").pipe(Config.withDefault("30 seconds")),
  supervisorCron: Config.string("HA_JOBS_SUPERVISOR_CRON").pipe(Config.withDefault("0/10 * * * * ?")),
  reportEvery: Config.duration("HA_JOBS_REPORT_EVERY").pipe(Config.withDefault("5 seconds")),
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
        instance: s.instance._tag === "Some" ? s.instance.value : undefined,
      },
    ),
  ),
).pipe(
  Layer.provideMerge(Layer.mergeAll(ProductFeed.sample, OrderQueue.layer, Processed.layer)),
  Layer.provide(StoreLayer.layerConfig),
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
    `effect-ha-jobs example service, instance ${manager.instance}, ${yield* StoreLayer.describe}; jobs: ${manager.jobTypes.join(", ")}`,
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
    : Effect.logError(`effect-ha-jobs example service stopped: ${failureMessage(cause)}`).pipe(
        Effect.zipRight(Effect.logDebug(Cause.pretty(cause))),
      )

const LogLevelSetting = Config.logLevel("HA_JOBS_LOG_LEVEL").pipe(Config.withDefault(LogLevel.Info))

if (import.meta.url === `file://${process.argv[1]}`)
  NodeRuntime.runMain(
    main.pipe(
      Effect.tapErrorCause(reportFailure),
      Effect.provide(Layer.unwrapEffect(Effect.map(LogLevelSetting, Logger.minimumLogLevel))),
    ),
    { disableErrorReporting: true },
  )
