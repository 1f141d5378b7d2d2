import { Data } from "effect"
import type { JobId, TriggerId } from "./Ids.js"
import type { JobType } from "./Names.js"
import type { Pause } from "./Pause.js"

/** What a trigger did: ha-jobs' Started / LockedStatus / Error, with the holder named precisely. */
export type TriggerResult = Data.TaggedEnum<{
  Started: { readonly jobType: JobType; readonly jobId: JobId; readonly triggerId: TriggerId }
  /** The lock is held; `jobType` and `jobId` name the holder (possibly another job type sharing the lock). */
  Locked: { readonly jobType: JobType; readonly jobId: JobId }
  /** The execution could not start; `storeUnavailable` tells a store outage from other failures. */
  Failed: { readonly message: string; readonly storeUnavailable: boolean }
  /** The job type is paused (Pause.inForce): nothing started, nothing was written. */
  Paused: { readonly pause: Pause }
}>
export const TriggerResult = Data.taggedEnum<TriggerResult>()
