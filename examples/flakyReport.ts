/**
 * A job that sometimes fails, to show retries: the supervisor runs a failed trigger again (same
 * trigger id, new job id) up to `retries` times, waiting the backoff before each retry.
 */
import { Effect, Random, Schedule, Schema } from "effect"
import { Job, JobContext } from "../src/index.js"

export class ReportUnavailable extends Schema.TaggedError<ReportUnavailable>()("ReportUnavailable", {
  message: Schema.String,
}) {}

export const flakyReport = Job.make({
  type: "sales-report",
  cron: "0 */2 * * * ?",
  retries: 2,
  retryBackoff: Schedule.spaced("10 seconds"),
  run: Effect.gen(function* () {
    const ctx = yield* JobContext.JobContext
    if (yield* Random.nextBoolean)
      return yield* new ReportUnavailable({ message: `warehouse did not answer (attempt ${ctx.attempt})` })
    return { rows: yield* Random.nextIntBetween(100, 1000), attempt: ctx.attempt }
  }),
})
