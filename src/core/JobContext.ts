import { Context, type Effect, type Option } from "effect"
import type { ContentError, StoreError } from "../domain/Errors.js"
import type { JobId, TriggerId } from "../domain/Ids.js"
import type { TriggerSource } from "../domain/JobState.js"
import type { JobType, LockType } from "../domain/Names.js"

/** What a running job knows about its execution. Provided by the JobRunner inside `run`. */
export class JobContext extends Context.Tag("effect-ha-jobs/JobContext")<
  JobContext,
  {
    readonly jobType: JobType
    readonly lockType: LockType
    readonly jobId: JobId
    readonly triggerId: TriggerId
    /** 1 for the first execution of a trigger, 2 for its first retry, ... */
    readonly attempt: number
    readonly source: TriggerSource
    /**
     * The trigger's params, decoded by the job's `params` schema (typed: `JobParams.get(schema)`);
     * none for runs triggered without any.
     */
    readonly params: Option.Option<unknown>
    /** The cron slot this execution belongs to (epoch milliseconds), for scheduled runs. */
    readonly scheduledAt: Option.Option<number>
    /**
     * Strictly greater than the token of every earlier lease on this lock type. Pass it to the
     * resources you protect so they can refuse writes from a stale holder.
     */
    readonly fencingToken: number
    /** Writes a RUNNING status with this JSON content. */
    readonly progress: (content: unknown) => Effect.Effect<void, ContentError | StoreError>
    /** Aborted when the execution is interrupted (lease lost, cancel, shutdown): for non-Effect code. */
    readonly signal: AbortSignal
  }
>() {}
