import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import * as Env from "../Env.js"
import { HealthReport } from "./ApiSchemas.js"

/** Every error the HTTP API answers; the library's own errors are in domain/Errors.ts. */

/**
 * Every error answers ha-jobs' body `{"status":"KO","message":...}`; the `_tag` (and a few fields)
 * come on top, so typed clients can tell the errors apart.
 */
const ko = {
  status: Schema.optionalWith(Schema.Literal("KO"), { default: () => "KO" as const }),
  message: Schema.String,
}

export class JobTypeNotFound extends Schema.TaggedError<JobTypeNotFound>()(
  "JobTypeNotFound",
  { ...ko, jobType: Schema.String },
  HttpApiSchema.annotations({ status: 404, description: "No job of this type is registered" }),
) {
  static of = (jobType: string) => new JobTypeNotFound({ jobType, message: `unknown job type "${jobType}"` })
}

export class ExecutionNotFound extends Schema.TaggedError<ExecutionNotFound>()(
  "ExecutionNotFound",
  { ...ko, jobType: Schema.String, jobId: Schema.optional(Schema.String) },
  HttpApiSchema.annotations({ status: 404, description: "No such execution (or none yet)" }),
) {}

/** A malformed job id, cursor or limit. */
export class InvalidParameter extends Schema.TaggedError<InvalidParameter>()(
  "InvalidParameter",
  { ...ko, parameter: Schema.String },
  HttpApiSchema.annotations({ status: 400, description: "A malformed job id, cursor or limit" }),
) {}

/** The lock is held; `Location` and the fields name the holder, maybe of another job type. */
export class JobAlreadyRunning extends Schema.TaggedError<JobAlreadyRunning>()(
  "JobAlreadyRunning",
  { ...ko, holderJobType: Schema.String, holderJobId: Schema.String },
  HttpApiSchema.annotations({
    status: 409,
    description: "The lock is held; the Location header points at the holder's execution",
  }),
) {
  static readonly text = "The job's already running"
}

export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()(
  "StoreUnavailable",
  ko,
  HttpApiSchema.annotations({ status: 503, description: "The store could not be reached" }),
) {}

/** The execution could not start for a reason other than the store (e.g. shutting down). */
export class TriggerFailed extends Schema.TaggedError<TriggerFailed>()(
  "TriggerFailed",
  ko,
  HttpApiSchema.annotations({ status: 500, description: "The execution could not start" }),
) {}

/** The job type is paused (with `blockManual` for a manual trigger); resume it to run it. */
export class JobPaused extends Schema.TaggedError<JobPaused>()(
  "JobPaused",
  { ...ko, jobType: Schema.String },
  HttpApiSchema.annotations({ status: 409, description: "The job type is paused" }),
) {}

export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  ko,
  HttpApiSchema.annotations({ status: 401, description: "Missing or wrong bearer token" }),
) {}

export class Forbidden extends Schema.TaggedError<Forbidden>()(
  "Forbidden",
  ko,
  HttpApiSchema.annotations({ status: 403, description: "Not allowed (e.g. writes in read-only mode)" }),
) {}

/** A known path asked with a method it does not serve; the `Allow` header lists those it does. */
export class MethodNotAllowed extends Schema.TaggedError<MethodNotAllowed>()(
  "MethodNotAllowed",
  ko,
  HttpApiSchema.annotations({ status: 405, description: "The path does not serve this method" }),
) {}

/** Every /events stream allowed is taken (`maxEventStreams`); `Retry-After` says when to try again. */
export class TooManyEventStreams extends Schema.TaggedError<TooManyEventStreams>()(
  "TooManyEventStreams",
  { ...ko, maxEventStreams: Schema.Number },
  HttpApiSchema.annotations({
    status: 503,
    description: "Every live event stream allowed is open; retry after the Retry-After header's seconds",
  }),
) {
  static of = (maxEventStreams: number) =>
    new TooManyEventStreams({
      maxEventStreams,
      message:
        `${maxEventStreams} event streams are open, the most allowed: close dashboards you do not use, ` +
        `or raise maxEventStreams (${Env.EventsMaxStreams.name})`,
    })
}

/** /health's 503: the health report, and a message naming what is down. */
export class Unhealthy extends Schema.TaggedError<Unhealthy>()(
  "Unhealthy",
  { ...HealthReport.fields, message: Schema.String },
  HttpApiSchema.annotations({ status: 503, description: "Store unreachable or scheduler not running" }),
) {}
