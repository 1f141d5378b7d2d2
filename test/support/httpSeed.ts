import { Effect } from "effect"
import { v7 } from "uuid"
import type { JobId, TriggerId } from "../../src/domain/Ids.js"
import { type JobState, stateToResult, type TriggerSource } from "../../src/domain/JobState.js"
import { JobStatus } from "../../src/domain/JobStatus.js"
import type { JobType, LockType } from "../../src/domain/Names.js"
import type { Stores } from "./harness.js"

export interface PastRun {
  /** Minutes before now the execution started. */
  readonly startedAgo: number
  readonly seconds: number
  readonly state: JobState
  readonly content?: unknown
  readonly reason?: string
  readonly source?: TriggerSource
  /** RUNNING statuses with progress content written between the start and the end. */
  readonly progress?: number
}

/** Writes executions that happened earlier (RUNNING, then the final state), as the runner would. */
export const seedRuns = (stores: Stores, jobType: string, lockType: string, runs: ReadonlyArray<PastRun>) =>
  Effect.forEach(
    runs,
    (run, i) => {
      const start = Date.now() - run.startedAgo * 60_000
      const jobId = v7({ msecs: start }) as JobId
      const base = {
        triggerId: v7({ msecs: start }) as TriggerId,
        jobType: jobType as JobType,
        jobId,
        lockType: lockType as LockType,
        attempt: 1,
        triggerSource: run.source ?? "cron",
        fencingToken: 100 + i,
        instance: `node-${(i % 3) + 1}`,
      }
      const statuses = [
        new JobStatus({ ...base, jobState: "RUNNING", jobResult: "PENDING", jobStatusTs: new Date(start) }),
        ...Array.from(
          { length: run.progress ?? 0 },
          (_, p) =>
            new JobStatus({
              ...base,
              jobState: "RUNNING",
              jobResult: "PENDING",
              jobStatusTs: new Date(start + ((p + 1) * run.seconds * 1000) / ((run.progress ?? 0) + 1)),
              content: { step: p + 1 },
            }),
        ),
        ...(run.state === "RUNNING"
          ? []
          : [
              new JobStatus({
                ...base,
                jobState: run.state,
                jobResult: stateToResult(run.state),
                jobStatusTs: new Date(start + run.seconds * 1000),
                ...(run.content === undefined ? {} : { content: run.content }),
                ...(run.reason === undefined ? {} : { reason: run.reason }),
              }),
            ]),
      ]
      return Effect.as(Effect.forEach(statuses, stores.statusRepository.save), jobId)
    },
    { concurrency: 1 },
  )
