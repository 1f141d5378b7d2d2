import { HttpApiBuilder } from "@effect/platform"
import { Duration, Effect, Either, Ref } from "effect"
import { JobManager } from "../services/JobManager.js"
import { Scheduler } from "../services/Scheduler.js"
import { HaJobsApi } from "./Api.js"
import { type HealthReport, Unhealthy } from "./ApiSchemas.js"

/** A store that does not answer a one-row read within this is reported down. */
export const StoreCheckTimeout = Duration.seconds(5)

type SchedulerState = HealthReport["scheduler"]

export const layer = HttpApiBuilder.group(HaJobsApi, "health", (handlers) =>
  Effect.gen(function* () {
    const manager = yield* JobManager
    const scheduler = yield* Scheduler
    // `scheduled` completes once; watch it in the background so /health never waits for it.
    const state = yield* Ref.make<SchedulerState>({ status: "starting" })
    yield* scheduler.scheduled.pipe(
      Effect.matchEffect({
        onFailure: (e) => Ref.set(state, { status: "failed", message: e.message }),
        onSuccess: (on) => Ref.set(state, { status: on ? "running" : "disabled" }),
      }),
      Effect.forkScoped,
    )

    // A cheap bounded read (one row) tells whether the store answers.
    const storeCheck = Effect.gen(function* () {
      const probe = manager.jobTypes[0]
      if (probe === undefined) return { status: "UP" as const }
      const result = yield* manager.latest(probe).pipe(
        Effect.timeoutFail({
          duration: StoreCheckTimeout,
          onTimeout: () => ({ message: `no answer within ${Duration.format(StoreCheckTimeout)}` }),
        }),
        Effect.either,
      )
      return Either.isRight(result)
        ? { status: "UP" as const }
        : { status: "DOWN" as const, message: result.left.message }
    })

    return handlers.handle("health", () =>
      Effect.gen(function* () {
        const store = yield* storeCheck
        const schedulerState = yield* Ref.get(state)
        const up =
          store.status === "UP" &&
          (schedulerState.status === "running" || schedulerState.status === "disabled")
        const report: HealthReport = {
          status: up ? "UP" : "DOWN",
          store,
          scheduler: schedulerState,
          instance: manager.instance,
        }
        if (up) return report
        const problems = [
          store.status === "DOWN" ? `store down: ${store.message}` : undefined,
          schedulerState.status === "starting" ? "scheduler starting" : undefined,
          schedulerState.status === "failed" ? `scheduler failed: ${schedulerState.message}` : undefined,
        ].filter((p) => p !== undefined)
        return yield* new Unhealthy({ ...report, message: problems.join("; ") })
      }),
    )
  }),
)
