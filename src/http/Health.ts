import { HttpApiBuilder } from "@effect/platform"
import { Duration, Effect, Option } from "effect"
import { Expectations } from "../core/Expectations.js"
import { JobManager } from "../core/JobManager.js"
import { Scheduler } from "../core/Scheduler.js"
import { LockWait } from "../ports/StoreBounds.js"
import { StoreProbe } from "../ports/StoreProbe.js"
import { HaJobsApi } from "./Api.js"
import { Unhealthy } from "./ApiErrors.js"
import type { HealthReport } from "./ApiSchemas.js"

/**
 * A store whose probe (a one-row read and a conditional write) does not finish within this is
 * reported down: /health answers within about a second whatever the store does, since a load
 * balancer or orchestrator polling it has a timeout of its own.
 */
export const StoreCheckTimeout = Duration.seconds(1)
/** The probe's wait for a lock another process holds; below the timeout, so the answer names the lock. */
const ProbeLockWait = Duration.millis(700)

type SchedulerState = HealthReport["scheduler"]

export const layer = HttpApiBuilder.group(HaJobsApi, "health", (handlers) =>
  Effect.gen(function* () {
    const manager = yield* JobManager
    const scheduler = yield* Scheduler
    // Failing preconditions are retried (Scheduler.state): "failed" says when the next attempt is.
    const schedulerReport = Effect.map(
      scheduler.state,
      (s): SchedulerState =>
        s.status === "retrying"
          ? {
              status: "failed",
              message: `${s.message} (attempt ${s.attempts}; next at ${s.nextAttemptAt.toISOString()})`,
            }
          : { status: s.status },
    )

    // Deadlines and overruns as last checked (no store read here); absent without HaJobs.layer.
    const expectations = yield* Effect.serviceOption(Expectations)
    const expectationsReport = Option.match(expectations, {
      onNone: () => Effect.succeed(undefined),
      onSome: (e) =>
        Effect.map(e.current, (all): HealthReport["expectations"] => ({
          overdue: all.flatMap((x) =>
            Option.isSome(x.overdueSince) && Option.isSome(x.successWithin)
              ? [
                  {
                    jobType: x.jobType,
                    lastSuccessAt: Option.match(x.lastSuccessAt, {
                      onNone: () => null,
                      onSome: (d) => d.toISOString(),
                    }),
                    overdueSince: x.overdueSince.value.toISOString(),
                    successWithin: Duration.format(x.successWithin.value),
                  },
                ]
              : [],
          ),
          overrunning: all.flatMap((x) =>
            x.overrunning.map((o) => ({
              jobType: x.jobType,
              jobId: o.jobId,
              startedAt: o.startedAt.toISOString(),
              maxDuration: Option.match(x.maxDuration, { onNone: () => "", onSome: Duration.format }),
            })),
          ),
        })),
    })

    // The store's probe (a one-row read and a conditional write; HaJobs.layer provides it), else a
    // one-row read through the manager for an app built without HaJobs.layer.
    const probe = yield* Effect.serviceOption(StoreProbe)
    const named = Option.match(probe, { onNone: () => ({}), onSome: (p) => ({ name: p.name }) })
    const check = Option.match(probe, {
      onSome: (p) => p.check,
      onNone: () => {
        const jobType = manager.jobTypes[0]
        return jobType === undefined ? Effect.void : Effect.asVoid(manager.latest(jobType))
      },
    })
    const storeCheck = check.pipe(
      Effect.provideService(LockWait, Option.some(ProbeLockWait)),
      Effect.timeoutFail({
        duration: StoreCheckTimeout,
        onTimeout: () => ({ message: `no answer within ${Duration.format(StoreCheckTimeout)}` }),
      }),
      Effect.match({
        onSuccess: (): HealthReport["store"] => ({
          status: "UP",
          ...named,
        }),
        onFailure: (e): HealthReport["store"] => ({
          status: "DOWN",
          ...named,
          ...("operation" in e ? { operation: e.operation } : {}),
          message: e.message,
        }),
      }),
    )

    return handlers.handle("health", ({ urlParams }) =>
      Effect.gen(function* () {
        const store = yield* storeCheck
        const schedulerState = yield* schedulerReport
        const expected = yield* expectationsReport
        // Overdue is not unhealthy (the instance works; a job did not succeed), unless asked.
        const overdueFails = urlParams.overdue === "fail" && (expected?.overdue.length ?? 0) > 0
        const up =
          store.status === "UP" &&
          (schedulerState.status === "running" || schedulerState.status === "disabled") &&
          !overdueFails
        const report: HealthReport = {
          status: up ? "UP" : "DOWN",
          store,
          scheduler: schedulerState,
          instance: manager.instance,
          ...(expected === undefined ? {} : { expectations: expected }),
        }
        if (up) return report
        const problems = [
          store.status === "DOWN"
            ? `store down: ${[store.name, store.operation && `${store.operation} failed`, store.message].filter(Boolean).join(": ")}`
            : undefined,
          schedulerState.status === "starting" ? "scheduler starting" : undefined,
          schedulerState.status === "failed" ? `scheduler failed: ${schedulerState.message}` : undefined,
          overdueFails
            ? `overdue: ${expected!.overdue.map((o) => `${o.jobType} (no success within ${o.successWithin})`).join(", ")}`
            : undefined,
        ].filter((p) => p !== undefined)
        return yield* new Unhealthy({ ...report, message: problems.join("; ") })
      }),
    )
  }),
)
