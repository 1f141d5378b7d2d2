import { Schema } from "effect"

/** ha-jobs' job states, stored and serialized as their upper-case names. */
export const JobState = Schema.Literal(
  "RUNNING",
  "PREPARING",
  "FINISHED",
  "FAILED",
  "CANCELED",
  "DEAD",
  "WARNING",
  "SKIPPED",
  "NO_ACTION_NEEDED",
)
export type JobState = typeof JobState.Type

export const JobResult = Schema.Literal("PENDING", "SUCCESS", "FAILED")
export type JobResult = typeof JobResult.Type

/** ha-jobs' fixed mapping: the supervisor and the API reason about results, not states. */
export const stateToResult = (state: JobState): JobResult => {
  switch (state) {
    case "RUNNING":
    case "PREPARING":
      return "PENDING"
    case "FINISHED":
    case "WARNING":
    case "SKIPPED":
    case "NO_ACTION_NEEDED":
      return "SUCCESS"
    case "FAILED":
    case "CANCELED":
    case "DEAD":
      return "FAILED"
  }
}

/** Why an execution was started. */
/** "continuous": started by an instance that found a continuous job's lock free. */
/** "backfill": a past cron slot an operator asked to run (JobManager.backfill). */
export const TriggerSource = Schema.Literal("manual", "cron", "catch-up", "retry", "continuous", "backfill")
export type TriggerSource = typeof TriggerSource.Type
