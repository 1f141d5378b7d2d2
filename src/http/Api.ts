import {
  HttpApi,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSchema,
  HttpApiSecurity,
  OpenApi,
} from "@effect/platform"
import { Context, JSONSchema, Schema } from "effect"
import { MaxBackfillSlots } from "../core/Backfill.js"
import {
  ExecutionNotFound,
  Forbidden,
  InvalidParameter,
  JobAlreadyRunning,
  JobPaused,
  JobTypeNotFound,
  StoreUnavailable,
  TooManyEventStreams,
  TriggerFailed,
  Unauthorized,
  Unhealthy,
} from "./ApiErrors.js"
import {
  AuditList,
  BackfillPlanJson,
  BackfillRequest,
  ClusterJson,
  EventStream,
  HealthReport,
  History,
  JobEventList,
  JobList,
  JobTypes,
  Ok,
  PauseRequest,
  PauseState,
  PrometheusText,
  StatusJson,
  Triggered,
  TriggerRequest,
} from "./ApiSchemas.js"

/**
 * Who called: what the authorize hook answered ("token" for the bearer token, "anonymous" without a
 * hook or when it named nobody). The audit log records it.
 */
export class CallerIdentity extends Context.Tag("effect-ha-jobs/CallerIdentity")<CallerIdentity, string>() {}

/**
 * Checks the caller of every route except /health: a bearer token from config, or your own Effect
 * (see `HttpSettings`). Read-only mode answers writes 403 here too.
 */
export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("effect-ha-jobs/Authorization", {
  failure: Schema.Union(Unauthorized, Forbidden),
  provides: CallerIdentity,
  security: { bearer: HttpApiSecurity.bearer },
}) {}

const JobTypePath = Schema.Struct({
  jobType: Schema.String.annotations({ description: "A registered job type", examples: ["product-import"] }),
})
const ExecutionPath = Schema.Struct({
  ...JobTypePath.fields,
  jobId: Schema.String.annotations({ description: "A job id (time-ordered UUID)", format: "uuid" }),
})

// A parameter given twice (`?limit=1&limit=2`) arrives as an array. Accepting it lets the handler
// answer the usual error body naming the parameter, not the schema's own error; documented as the
// string it must be.
const QueryParam = (description: string) =>
  Schema.Union(Schema.String, Schema.Array(Schema.String)).annotations({
    jsonSchema: { type: "string", description },
  })

/** TriggerRequest's JSON Schema, inline (its identifier would make it a `$ref` into `$defs` the document lacks). */
const { $schema: _, ...triggerRequestSchema } = JSONSchema.make(Schema.Struct(TriggerRequest.fields))

export class JobsGroup extends HttpApiGroup.make("jobs")
  .add(
    HttpApiEndpoint.get("types", "/jobs")
      .setUrlParams(
        Schema.Struct({
          q: Schema.optional(QueryParam("Only job types containing this text (case-insensitive)")),
          all: Schema.optional(
            QueryParam(
              "true: every registered job type (the default); false: only those that have run, as ha-jobs listed them (the default in the ha-jobs mode)",
            ),
          ),
          group: Schema.optional(QueryParam("Only job types of this group (named `<group>.…`)")),
          limit: Schema.optional(QueryParam("1..1000; without it, every matching job type")),
          after: Schema.optional(QueryParam("Cursor: the last job type of the previous page")),
        }),
      )
      .addSuccess(JobTypes)
      .addError(InvalidParameter)
      .addError(StoreUnavailable)
      .annotate(
        OpenApi.Description,
        "The registered job types, optionally filtered (`q`, `group`) and paged (`limit`, then `next`).",
      ),
  )
  .add(
    HttpApiEndpoint.post("trigger", "/jobs/:jobType")
      .setPath(JobTypePath)
      .addSuccess(Triggered, { status: 201 })
      .addError(InvalidParameter)
      .addError(JobTypeNotFound)
      .addError(JobAlreadyRunning)
      .addError(JobPaused)
      .addError(StoreUnavailable)
      .addError(TriggerFailed)
      .annotate(
        OpenApi.Description,
        "Starts an execution now. Location: the new execution (201) or the holder's (409).",
      )
      // The optional body, documented by hand: it is read by the handler (see TriggerRequest).
      .annotate(OpenApi.Override, {
        requestBody: {
          required: false,
          description: 'Optional: {"params": ...} for a job that declares params; no body runs it without.',
          content: { "application/json": { schema: triggerRequestSchema } },
        },
      }),
  )
  .add(
    HttpApiEndpoint.del("cancel", "/jobs/:jobType")
      .setPath(JobTypePath)
      .addSuccess(Ok)
      .addError(JobTypeNotFound)
      .addError(StoreUnavailable)
      .annotate(OpenApi.Description, "Cancels the job type's execution on whichever instance runs it."),
  )
  .add(
    HttpApiEndpoint.post("pause", "/jobs/:jobType/pause")
      .setPath(JobTypePath)
      // `{}` is a pause without a note; so is no body on the Node server (read as null there).
      .setPayload(Schema.NullOr(PauseRequest))
      .addSuccess(PauseState)
      .addError(JobTypeNotFound)
      .addError(InvalidParameter)
      .addError(StoreUnavailable)
      .annotate(
        OpenApi.Description,
        "Pauses the job type on every instance, kept in the store: no cron slot, catch-up, continuous restart or retry runs until resumed (or `until`); manual triggers still run unless `blockManual`. A running continuous job stops. Pausing again replaces the note.",
      ),
  )
  .add(
    HttpApiEndpoint.post("backfill", "/jobs/:jobType/backfill")
      .setPath(JobTypePath)
      .setPayload(BackfillRequest)
      .addSuccess(BackfillPlanJson)
      .addError(JobTypeNotFound)
      .addError(InvalidParameter)
      .addError(StoreUnavailable)
      .annotate(
        OpenApi.Description,
        `Runs the job type's past cron slots in [from, to] (at most ${MaxBackfillSlots}) that nobody claimed, one after another in the background, each as a claimed slot (triggerSource "backfill", scheduledAt = the slot); answers the plan at once. dryRun: the plan only. Cancelling the job type while a slot runs stops the rest.`,
      ),
  )
  .add(
    HttpApiEndpoint.post("resume", "/jobs/:jobType/resume")
      .setPath(JobTypePath)
      .addSuccess(PauseState)
      .addError(JobTypeNotFound)
      .addError(StoreUnavailable)
      .annotate(OpenApi.Description, "Ends the job type's pause; `changed` is false when it was not paused."),
  )
  .add(
    HttpApiEndpoint.get("list", "/jobs/:jobType")
      .setPath(JobTypePath)
      .setUrlParams(
        Schema.Struct({
          limit: Schema.optional(QueryParam("1..1000, default 20")),
          before: Schema.optional(QueryParam("Cursor: a job id")),
        }),
      )
      .addSuccess(JobList)
      .addError(JobTypeNotFound)
      .addError(InvalidParameter)
      .addError(StoreUnavailable)
      .annotate(OpenApi.Description, "Executions newest first, without content; `next` is the next page."),
  )
  .add(
    HttpApiEndpoint.get("events", "/jobs/:jobType/events")
      .setPath(JobTypePath)
      .setUrlParams(
        Schema.Struct({
          limit: Schema.optional(QueryParam("1..1000, default 20")),
          before: Schema.optional(QueryParam("Cursor: an event id")),
        }),
      )
      .addSuccess(JobEventList)
      .addError(JobTypeNotFound)
      .addError(InvalidParameter)
      .addError(StoreUnavailable)
      .annotate(
        OpenApi.Description,
        "Decisions about the job type's slots and triggers that are not executions (missed slots, misfires, overlaps, catch-ups, paused slots, failed starts and preconditions, exhausted retries), newest first, equal ones coalesced (`count`).",
      ),
  )
  .add(
    HttpApiEndpoint.get("latest", "/jobs/:jobType/latest")
      .setPath(JobTypePath)
      .addSuccess(HttpApiSchema.Empty(307))
      .addError(JobTypeNotFound)
      .addError(ExecutionNotFound)
      .addError(StoreUnavailable)
      .annotate(OpenApi.Description, "Redirects (Location) to the newest execution."),
  )
  .add(
    HttpApiEndpoint.get("status", "/jobs/:jobType/:jobId")
      .setPath(ExecutionPath)
      .addSuccess(StatusJson)
      .addError(JobTypeNotFound)
      .addError(InvalidParameter)
      .addError(ExecutionNotFound)
      .addError(StoreUnavailable)
      .annotate(OpenApi.Description, "The execution's latest status, with content."),
  )
  .add(
    HttpApiEndpoint.get("history", "/jobs/:jobType/:jobId/history")
      .setPath(ExecutionPath)
      .setUrlParams(
        Schema.Struct({
          limit: Schema.optional(QueryParam("1..1000, default 1000")),
          before: Schema.optional(QueryParam("Cursor: the previous page's next")),
        }),
      )
      .addSuccess(History)
      .addError(JobTypeNotFound)
      .addError(InvalidParameter)
      .addError(ExecutionNotFound)
      .addError(StoreUnavailable)
      .annotate(
        OpenApi.Description,
        "The statuses written for the execution, newest first, 1,000 a page unless `limit` says fewer; `next` is the next page.",
      ),
  )
  .add(
    HttpApiEndpoint.get("audit", "/audit")
      .setUrlParams(
        Schema.Struct({
          jobType: Schema.optional(QueryParam("Only this job type's entries")),
          limit: Schema.optional(QueryParam("1..1000, default 20")),
          before: Schema.optional(QueryParam("Cursor: an entry id")),
        }),
      )
      .addSuccess(AuditList)
      .addError(JobTypeNotFound)
      .addError(InvalidParameter)
      .addError(StoreUnavailable)
      .annotate(
        OpenApi.Description,
        "Every manual trigger, cancel, pause, resume and backfill (API, dashboard or library) with who did it, newest first; kept as long as statuses.",
      ),
  )
  .add(
    HttpApiEndpoint.get("instances", "/instances")
      .addSuccess(ClusterJson)
      .addError(StoreUnavailable)
      .annotate(
        OpenApi.Description,
        "The instances' heartbeats (alive, or gone: not seen for 3 of their intervals) and which execution, on which instance, holds each lock type now, with its lease's time left.",
      ),
  )
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Jobs")
  .annotate(OpenApi.Description, "ha-jobs' routes: list, trigger, cancel, inspect executions") {}

export class EventsGroup extends HttpApiGroup.make("events")
  .add(
    HttpApiEndpoint.get("events", "/events")
      .addSuccess(EventStream)
      .addError(TooManyEventStreams)
      .annotate(
        OpenApi.Description,
        "At most maxEventStreams streams at once; beyond, 503 with Retry-After. A client that does not read is dropped.",
      ),
  )
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Live events") {}

export class MetricsGroup extends HttpApiGroup.make("metrics")
  .add(HttpApiEndpoint.get("metrics", "/metrics").addSuccess(PrometheusText))
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Metrics")
  .annotate(OpenApi.Description, "Prometheus text exposition of the process' Effect metrics") {}

/** Unauthenticated, for load balancers and orchestrators. */
export class HealthGroup extends HttpApiGroup.make("health")
  .add(
    HttpApiEndpoint.get("health", "/health")
      .setUrlParams(
        Schema.Struct({
          overdue: Schema.optional(
            Schema.Literal("fail").annotations({
              description:
                '"fail": answer 503 while a job type is overdue (for probes that only read the status code)',
            }),
          ),
        }),
      )
      .addSuccess(HealthReport)
      .addError(Unhealthy),
  )
  .annotate(OpenApi.Title, "Health")
  .annotate(OpenApi.Description, "200 when the store answers and the scheduler runs, else 503") {}

/** The HTTP API of effect-ha-jobs: ha-jobs' REST routes plus history, events, health and metrics. */
export class HaJobsApi extends HttpApi.make("ha-jobs")
  .add(JobsGroup)
  .add(EventsGroup)
  .add(MetricsGroup)
  .add(HealthGroup)
  .annotate(OpenApi.Title, "effect-ha-jobs")
  .annotate(
    OpenApi.Description,
    "Highly available singleton jobs: trigger, cancel and inspect executions. Errors answer " +
      '{"status":"KO","message":...}.',
  ) {}
