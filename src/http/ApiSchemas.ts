import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { JobResult, JobState, TriggerSource } from "../domain/JobState.js"

const Iso = Schema.String.annotations({ format: "date-time", examples: ["2025-01-31T09:30:00.000Z"] })

/**
 * One status as JSON: ha-jobs' fields in ha-jobs' order, then ours. Optional fields are omitted
 * when absent (never null), like ha-jobs' `content`.
 */
export const StatusJson = Schema.Struct({
  triggerId: Schema.String,
  jobType: Schema.String,
  jobId: Schema.String,
  jobState: JobState,
  jobResult: JobResult,
  jobStatusTs: Iso.annotations({ description: "When this status was written (ISO-8601, ms)" }),
  content: Schema.optional(
    Schema.Unknown.annotations({ description: "JSON written by the job; omitted when absent" }),
  ),
  startTime: Iso.annotations({ description: "When the execution started (from its job id)" }),
  duration: Schema.String.annotations({
    description: "startTime to jobStatusTs in words",
    examples: ["1 minute, 2 seconds and 3 milliseconds"],
  }),
  lockType: Schema.String,
  fencingToken: Schema.optional(Schema.Number),
  attempt: Schema.Number,
  triggerSource: TriggerSource,
  reason: Schema.optional(Schema.String),
  scheduledAt: Schema.optional(Iso),
  instance: Schema.optional(Schema.String),
}).annotations({ identifier: "JobStatus" })
export type StatusJson = typeof StatusJson.Type

export const JobTypes = Schema.Struct({
  jobTypes: Schema.Array(Schema.String),
  readOnly: Schema.Boolean.annotations({ description: "true when triggering and cancelling are disabled" }),
}).annotations({ identifier: "JobTypes" })

export const Ok = Schema.Struct({ status: Schema.Literal("OK") }).annotations({ identifier: "Ok" })

export const Triggered = Schema.Struct({
  status: Schema.Literal("OK"),
  jobType: Schema.String,
  jobId: Schema.String,
  triggerId: Schema.String,
}).annotations({ identifier: "Triggered", description: "Started; Location points at the execution" })

export const JobList = Schema.Struct({
  jobs: Schema.Array(StatusJson).annotations({ description: "Latest status per execution, newest first" }),
  cron: Schema.NullOr(Schema.String),
  cronDescription: Schema.NullOr(Schema.String).annotations({ description: "The cron in English" }),
  timeZone: Schema.NullOr(Schema.String),
  latest: Schema.NullOr(Schema.String).annotations({ description: "URL of the newest execution" }),
  next: Schema.NullOr(Schema.String).annotations({ description: "URL of the next (older) page" }),
  nextRuns: Schema.Array(Iso).annotations({ description: "The next cron fire times" }),
}).annotations({ identifier: "JobList" })

export const History = Schema.Struct({
  history: Schema.Array(StatusJson).annotations({ description: "Every status, newest first" }),
}).annotations({ identifier: "History" })

export const HealthReport = Schema.Struct({
  status: Schema.Literal("UP", "DOWN"),
  store: Schema.Struct({
    status: Schema.Literal("UP", "DOWN"),
    name: Schema.optional(Schema.String).annotations({ description: 'e.g. "SQLite at /data/ha-jobs.db"' }),
    operation: Schema.optional(Schema.String).annotations({ description: "The store call that failed" }),
    message: Schema.optional(Schema.String),
  }),
  scheduler: Schema.Struct({
    status: Schema.Literal("running", "disabled", "starting", "failed"),
    message: Schema.optional(Schema.String),
  }),
  instance: Schema.String,
}).annotations({ identifier: "Health" })
export type HealthReport = typeof HealthReport.Type

export class Unhealthy extends Schema.TaggedError<Unhealthy>()(
  "Unhealthy",
  { ...HealthReport.fields, message: Schema.String },
  HttpApiSchema.annotations({ status: 503, description: "Store unreachable or scheduler not running" }),
) {}

export const PrometheusText = Schema.String.pipe(
  HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/plain; version=0.0.4; charset=utf-8" }),
)

export const EventStream = Schema.String.pipe(
  HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/event-stream" }),
).annotations({
  description:
    'Server-sent events: `status` ({"jobType","latest"}) when a job type\'s latest execution changes, ' +
    '`store` ({"ok","message"}) when the store becomes unreachable or recovers',
})
