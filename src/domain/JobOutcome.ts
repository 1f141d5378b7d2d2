import { Data } from "effect"

/**
 * Returned by a job to choose its final state instead of FINISHED. `value` is encoded into the
 * status content like a plain result; `reason` is shown with the status.
 */
export class JobOutcome<A = unknown> extends Data.TaggedClass("JobOutcome")<{
  readonly state: "FINISHED" | "WARNING" | "SKIPPED" | "NO_ACTION_NEEDED"
  readonly value: A | undefined
  readonly reason: string | undefined
}> {
  static warning = <A = never>(value?: A, reason?: string) =>
    new JobOutcome<A>({ state: "WARNING", value, reason })
  static skipped = <A = never>(value?: A, reason?: string) =>
    new JobOutcome<A>({ state: "SKIPPED", value, reason })
  static noActionNeeded = <A = never>(value?: A, reason?: string) =>
    new JobOutcome<A>({ state: "NO_ACTION_NEEDED", value, reason })
}

export const isJobOutcome = (u: unknown): u is JobOutcome => u instanceof JobOutcome

/** `JobOutcome.warning(value, reason)`: the execution ends WARNING. */
export const warning = JobOutcome.warning
/** `JobOutcome.skipped(value, reason)`: the execution ends SKIPPED (counted as a success). */
export const skipped = JobOutcome.skipped
/** `JobOutcome.noActionNeeded(value, reason)`: the execution ends NO_ACTION_NEEDED. */
export const noActionNeeded = JobOutcome.noActionNeeded
