import { Schema } from "effect"
import { JobId, TriggerId } from "./Ids.js"
import { JobResult, JobState, stateToResult, TriggerSource } from "./JobState.js"
import { JobType, LockType } from "./Names.js"

/**
 * One status of one execution. The field names are ha-jobs' (triggerId, jobType, jobId, jobState,
 * jobResult, jobStatusTs, content); the rest is what ha-jobs could not tell.
 */
export class JobStatus extends Schema.Class<JobStatus>("JobStatus")({
  triggerId: TriggerId,
  jobType: JobType,
  jobId: JobId,
  lockType: LockType,
  jobState: JobState,
  jobResult: JobResult,
  jobStatusTs: Schema.Date,
  /** JSON content written by the job (progress or result); absent when the job wrote none. */
  content: Schema.optional(Schema.Unknown),
  /** The fencing token of the lease this execution ran under; absent when it never held one. */
  fencingToken: Schema.optional(Schema.Number),
  /** 1 for the first execution of a trigger, 2 for its first retry, ... */
  attempt: Schema.Int,
  triggerSource: TriggerSource,
  /** Why the execution ended in this state: "lease lost", "shutdown", "cancelled", an error message... */
  reason: Schema.optional(Schema.String),
  /** The cron slot this execution belongs to, for scheduled runs. */
  scheduledAt: Schema.optional(Schema.Date),
  /** The instance that wrote this status. */
  instance: Schema.optional(Schema.String),
}) {}

/** What a writer of a status chooses; the result and the time are not its choice. */
export type JobStatusFields = Omit<ConstructorParameters<typeof JobStatus>[0], "jobResult" | "jobStatusTs">

/** A status written at `now` (epoch millis): its result always follows from its state. */
export const statusAt = (now: number, fields: JobStatusFields): JobStatus =>
  new JobStatus({ ...fields, jobResult: stateToResult(fields.jobState), jobStatusTs: new Date(now) })
