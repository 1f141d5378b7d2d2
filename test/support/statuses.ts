import { Effect } from "effect"
import { type JobId, makeTriggerId } from "../../src/domain/Ids.js"
import { type JobState, stateToResult } from "../../src/domain/JobState.js"
import { JobStatus } from "../../src/domain/JobStatus.js"
import type { JobType, LockType } from "../../src/domain/Names.js"

/** A status of a manual first attempt with a fresh trigger id, for store tests. */
export const statusOf = (
  jobType: JobType,
  jobId: JobId,
  state: JobState,
  ts: number,
  extra: Partial<ConstructorParameters<typeof JobStatus>[0]> = {},
) =>
  Effect.map(
    makeTriggerId,
    (triggerId) =>
      new JobStatus({
        triggerId,
        jobType,
        jobId,
        lockType: `${jobType}-lock` as LockType,
        jobState: state,
        jobResult: stateToResult(state),
        jobStatusTs: new Date(ts),
        attempt: 1,
        triggerSource: "manual",
        ...extra,
      }),
  )
