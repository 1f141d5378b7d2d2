/**
 * Backfill: an operator re-runs the cron slots of a past range (the days a feed was broken). Each
 * slot runs at most once, as a claimed slot like the scheduler's own (a slot already claimed, run or
 * not, is skipped and listed so), one after another, with `triggerSource: "backfill"` and
 * `scheduledAt` = the slot. This module: the options, the plan, and the checks on the range; the
 * JobManager runs it (JobManager.backfill).
 */
import { Effect, Option } from "effect"
import type { CronSchedule } from "../domain/CronSchedule.js"
import { InvalidInput } from "../domain/Errors.js"
import type { ResolvedJob } from "./Job.js"

/** A backfill runs at most this many slots: a larger range is refused (split it). */
export const MaxBackfillSlots = 1000

export interface BackfillOptions {
  /** The first instant of the range (inclusive). */
  readonly from: Date
  /** The last instant of the range (inclusive); not in the future. */
  readonly to: Date
  /** Only list the slots and what would happen to each; run nothing, claim nothing. */
  readonly dryRun?: boolean | undefined
  /** Who asks, for the audit log. Defaults to "library". */
  readonly by?: string | undefined
}

/** One slot of the range: run, or skipped because it was already claimed (by `claimedBy`). */
export interface BackfillSlot {
  readonly slot: Date
  readonly action: "run" | "skip"
  /** The instance that claimed the slot before (cron, catch-up or an earlier backfill). */
  readonly claimedBy: Option.Option<string>
}

/**
 * What a backfill does, decided when it is asked for: the slots and the action on each. A slot
 * claimed in between (the scheduler's catch-up) is skipped when its turn comes; the audit entry at
 * the end says what ran.
 */
export interface BackfillPlan {
  readonly jobType: string
  readonly from: Date
  readonly to: Date
  readonly dryRun: boolean
  readonly slots: ReadonlyArray<BackfillSlot>
}

/** How a backfill that ran ended, for the log and the audit entry. */
export interface BackfillEnd {
  readonly ran: number
  readonly skipped: number
  /** Why it stopped before the last slot: "cancelled", "paused", a start failure; none: it ran to the end. */
  readonly stopped: Option.Option<string>
}

const invalid = (field: string, message: string) => new InvalidInput({ field, message })

/**
 * The job's cron slots in [from, to], checked: a job with a cron expression, valid instants, `from`
 * not after `to`, `to` not in the future (the scheduler runs the coming slots), at most
 * MaxBackfillSlots slots.
 */
export const slotsOf = (
  job: Pick<ResolvedJob, "type" | "cron">,
  options: Pick<BackfillOptions, "from" | "to">,
  now: number,
): Effect.Effect<ReadonlyArray<number>, InvalidInput> =>
  Effect.gen(function* () {
    if (Option.isNone(job.cron))
      return yield* invalid(
        "jobType",
        `job type "${job.type}" has no cron expression, so it has no slots to backfill: trigger it instead`,
      )
    const from = options.from.getTime()
    const to = options.to.getTime()
    if (Number.isNaN(from))
      return yield* invalid("from", "from is not a valid instant (ISO-8601, e.g. 2026-11-01T00:00:00Z)")
    if (Number.isNaN(to))
      return yield* invalid("to", "to is not a valid instant (ISO-8601, e.g. 2026-11-07T23:59:59Z)")
    if (from > to)
      return yield* invalid(
        "from",
        `from (${options.from.toISOString()}) is after to (${options.to.toISOString()}): swap them`,
      )
    if (to > now)
      return yield* invalid(
        "to",
        `to (${options.to.toISOString()}) is in the future: a backfill runs past slots; the scheduler runs the coming ones`,
      )
    const slots = between(job.cron.value, from, to, MaxBackfillSlots + 1)
    if (slots.length > MaxBackfillSlots)
      return yield* invalid(
        "to",
        `the range holds more than ${MaxBackfillSlots} slots of "${job.cron.value.expression}": split it into smaller ranges`,
      )
    return slots
  })

/** At most `limit` slots of `cron` in [from, to], in order. */
const between = (cron: CronSchedule, from: number, to: number, limit: number): Array<number> => {
  const slots: Array<number> = []
  for (let slot = cron.next(from - 1); slot !== undefined && slot <= to; slot = cron.next(slot)) {
    slots.push(slot)
    if (slots.length >= limit) break
  }
  return slots
}

/** The plan in words, for the audit entry's detail. */
export const describePlan = (plan: BackfillPlan): string => {
  const toRun = plan.slots.filter((s) => s.action === "run").length
  return `${plan.dryRun ? "dry run, " : ""}${plan.from.toISOString()} to ${plan.to.toISOString()}: ${plan.slots.length} slots, ${toRun} to run, ${plan.slots.length - toRun} already claimed`
}
