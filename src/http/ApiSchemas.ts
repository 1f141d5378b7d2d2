import { HttpApiSchema } from "@effect/platform"
import { Schema, SchemaAST } from "effect"
import { AuditAction } from "../domain/Audit.js"
import { JobEventKind } from "../domain/JobEvent.js"
import { fieldEntries, type StatusField, type StatusFieldName, statusFields } from "../domain/StatusFields.js"

const Iso = Schema.String.annotations({ format: "date-time", examples: ["2025-01-31T09:30:00.000Z"] })

/** The JSON schema of a stored status field: its encoded side (times as ISO-8601 text), documented. */
type JsonFieldOf<F> =
  F extends StatusField<infer S, infer O>
    ? [F["storage"]] extends ["timestamp"]
      ? O extends true
        ? Schema.optional<typeof Iso>
        : typeof Iso
      : O extends true
        ? Schema.optional<Schema.SchemaClass<Schema.Schema.Encoded<S>>>
        : Schema.SchemaClass<Schema.Schema.Encoded<S>>
    : never

type JsonFields = { readonly [K in StatusFieldName]: JsonFieldOf<(typeof statusFields)[K]> }

const jsonFieldOf = (f: StatusField) => {
  const encoded = Schema.encodedSchema(f.schema)
  // A plain string, without the annotations of the Schema's encoded side (ids say "lowercase" there).
  const base =
    f.storage === "timestamp" ? Iso : SchemaAST.isStringKeyword(encoded.ast) ? Schema.String : encoded
  const documented = f.description === undefined ? base : base.annotations({ description: f.description })
  return f.optional ? Schema.optional(documented) : documented
}

const jsonFields = (haJobs: boolean) =>
  Object.fromEntries(
    fieldEntries(statusFields)
      .filter(([, f]) => f.haJobs === haJobs)
      .map(([name, f]) => [name, jsonFieldOf(f)]),
  ) as Partial<JsonFields>

/** What the JSON adds to the stored fields, after ha-jobs' fields (ha-jobs computed them too). */
const computedFields = {
  startTime: Iso.annotations({ description: "When the execution started (from its job id)" }),
  duration: Schema.String.annotations({
    description: "startTime to jobStatusTs in words",
    examples: ["1 minute, 2 seconds and 3 milliseconds"],
  }),
}

/**
 * One status as JSON, derived from StatusFields.ts: ha-jobs' fields in ha-jobs' order, startTime and
 * duration, then ours. Optional fields are omitted when absent (never null), like ha-jobs' `content`.
 */
export const StatusJson = Schema.Struct({
  ...(jsonFields(true) as JsonFields),
  ...computedFields,
  ...(jsonFields(false) as JsonFields),
}).annotations({ identifier: "JobStatus" })
export type StatusJson = typeof StatusJson.Type

export const JobTypes = Schema.Struct({
  jobTypes: Schema.Array(Schema.String).annotations({
    description: "In registration order (the supervisor last); this page's when `limit` is given",
  }),
  readOnly: Schema.Boolean.annotations({
    description: "true when triggering, cancelling, pausing, resuming and backfilling are disabled",
  }),
  total: Schema.Number.annotations({ description: "How many job types match `q` and `group` (all pages)" }),
  groups: Schema.Array(Schema.Struct({ name: Schema.String, count: Schema.Number })).annotations({
    description:
      "The groups of the job types matching `q` (a job type `billing.invoices` is in group `billing`), by name, with their sizes",
  }),
  next: Schema.NullOr(Schema.String).annotations({ description: "The next page's URL; null on the last" }),
}).annotations({ identifier: "JobTypes" })

export const Ok = Schema.Struct({ status: Schema.Literal("OK") }).annotations({ identifier: "Ok" })

export const Triggered = Schema.Struct({
  status: Schema.Literal("OK"),
  jobType: Schema.String,
  jobId: Schema.String,
  triggerId: Schema.String,
}).annotations({ identifier: "Triggered", description: "Started; Location points at the execution" })

/** A pause in force, as JSON. */
export const PauseJson = Schema.Struct({
  note: Schema.String.annotations({ description: "Why, in the operator's words (may be empty)" }),
  by: Schema.String.annotations({ description: "Who paused it" }),
  instance: Schema.String.annotations({ description: "The instance that wrote the pause" }),
  since: Iso,
  until: Schema.NullOr(Iso).annotations({
    description: "When the pause ends by itself; null: until resumed",
  }),
  blockManual: Schema.Boolean.annotations({ description: "Manual triggers are refused too" }),
}).annotations({ identifier: "Pause" })

/** A job type against its expect.successWithin and maxDuration, as last checked (Expectations). */
export const ExpectationJson = Schema.Struct({
  successWithin: Schema.NullOr(Schema.String),
  maxDuration: Schema.NullOr(Schema.String),
  lastSuccessAt: Schema.NullOr(Iso),
  overdueSince: Schema.NullOr(Iso).annotations({ description: "Set while the job type is overdue" }),
  overrunning: Schema.Array(Schema.String).annotations({
    description: "Ids of executions past maxDuration",
  }),
}).annotations({ identifier: "Expectation" })
export type ExpectationJson = typeof ExpectationJson.Type

export const JobList = Schema.Struct({
  jobs: Schema.Array(StatusJson).annotations({ description: "Latest status per execution, newest first" }),
  cron: Schema.NullOr(Schema.String),
  cronDescription: Schema.NullOr(Schema.String).annotations({ description: "The cron in English" }),
  timeZone: Schema.NullOr(Schema.String),
  latest: Schema.NullOr(Schema.String).annotations({ description: "URL of the newest execution" }),
  next: Schema.NullOr(Schema.String).annotations({ description: "URL of the next (older) page" }),
  nextRuns: Schema.Array(Iso).annotations({ description: "The next cron fire times" }),
  paused: Schema.NullOr(PauseJson).annotations({ description: "The pause in force; null: not paused" }),
  params: Schema.NullOr(Schema.Unknown).annotations({
    description:
      'The JSON Schema of the params a manual run takes (POST with {"params": ...}); null: the job takes none',
  }),
  expectations: Schema.optional(Schema.NullOr(ExpectationJson)).annotations({
    description: "The job's expect.successWithin and maxDuration as last checked; null: it declares neither",
  }),
}).annotations({ identifier: "JobList" })

/**
 * The body of POST /jobs/:jobType, which may also be empty (a run without params). Read by the
 * handler itself, not declared as the endpoint's payload: the platform refuses an empty body where
 * a payload is declared, and ha-jobs' clients trigger with none.
 */
export const TriggerRequest = Schema.Struct({
  params: Schema.optional(Schema.Unknown).annotations({
    description:
      "The run's params, checked against the job's params schema (see `params` of GET /jobs/:jobType)",
  }),
}).annotations({ identifier: "TriggerRequest" })

/** The body of POST /jobs/:jobType/pause; every field may be left out (send `{}`). */
export const PauseRequest = Schema.Struct({
  note: Schema.optional(Schema.String).annotations({ description: "Why (at most 1 KiB of UTF-8)" }),
  until: Schema.optional(Schema.String).annotations({
    description: "An ISO-8601 instant in the future: the pause ends by itself then",
    format: "date-time",
  }),
  blockManual: Schema.optional(Schema.Boolean).annotations({
    description: "Refuse manual triggers too (default false)",
  }),
}).annotations({ identifier: "PauseRequest" })

export const PauseState = Schema.Struct({
  status: Schema.Literal("OK"),
  jobType: Schema.String,
  changed: Schema.Boolean.annotations({
    description: "false: the job type was already in this state (a resume of a job type not paused)",
  }),
  paused: Schema.NullOr(PauseJson).annotations({ description: "The pause now in force; null: not paused" }),
}).annotations({ identifier: "PauseState" })

/** The body of POST /jobs/:jobType/backfill. */
export const BackfillRequest = Schema.Struct({
  from: Schema.String.annotations({
    description: "First instant of the range (ISO-8601, inclusive)",
    format: "date-time",
  }),
  to: Schema.String.annotations({
    description: "Last instant of the range (ISO-8601, inclusive), not in the future",
    format: "date-time",
  }),
  dryRun: Schema.optional(Schema.Boolean).annotations({
    description: "Only list the slots and what would happen to each (default false)",
  }),
}).annotations({ identifier: "BackfillRequest" })

/** What a backfill does: its slots, each run or skipped (already claimed). */
export const BackfillPlanJson = Schema.Struct({
  status: Schema.Literal("OK"),
  jobType: Schema.String,
  dryRun: Schema.Boolean,
  from: Iso,
  to: Iso,
  toRun: Schema.Number.annotations({ description: "Slots that run (or would, in a dry run)" }),
  alreadyClaimed: Schema.Number.annotations({
    description: "Slots skipped: claimed before (run by cron, catch-up or a backfill)",
  }),
  slots: Schema.Array(
    Schema.Struct({
      slot: Iso,
      action: Schema.Literal("run", "skip"),
      claimedBy: Schema.NullOr(Schema.String).annotations({
        description: "The instance that claimed a skipped slot",
      }),
    }),
  ),
}).annotations({ identifier: "BackfillPlan" })

/** One audit log entry as JSON. */
export const AuditEntryJson = Schema.Struct({
  id: Schema.String.annotations({ description: "Time-ordered; the cursor of the next page" }),
  at: Iso,
  instance: Schema.String.annotations({ description: "The instance that acted" }),
  action: AuditAction,
  jobType: Schema.String,
  identity: Schema.String.annotations({
    description:
      'Who: the authorize hook\'s answer ("token" with the API token, "anonymous" without), or the library caller\'s `by`',
  }),
  detail: Schema.String.annotations({
    description: "The input: a pause's note, until and blockManual as JSON",
  }),
  outcome: Schema.String.annotations({
    description:
      '"started <jobId>", "locked by <type> <id>", "paused", "resumed", "no change", "failed: ..."',
  }),
}).annotations({ identifier: "AuditEntry" })

export const AuditList = Schema.Struct({
  entries: Schema.Array(AuditEntryJson).annotations({ description: "Newest first" }),
  next: Schema.NullOr(Schema.String).annotations({ description: "URL of the next (older) page" }),
}).annotations({ identifier: "AuditList" })

/** One job event as JSON (domain/JobEvent.ts says what each kind means). */
export const JobEventJson = Schema.Struct({
  id: Schema.String.annotations({ description: "Time-ordered; the cursor of the next page" }),
  at: Iso,
  jobType: Schema.String,
  kind: JobEventKind,
  instance: Schema.String.annotations({ description: "The instance that decided" }),
  reason: Schema.String,
  count: Schema.Number.annotations({ description: "Equal decisions coalesced into this event" }),
  from: Iso.annotations({ description: "The first slot (or time) concerned" }),
  to: Iso.annotations({ description: "The last slot (or time) concerned" }),
}).annotations({ identifier: "JobEvent" })

export const JobEventList = Schema.Struct({
  events: Schema.Array(JobEventJson).annotations({ description: "Newest first" }),
  next: Schema.NullOr(Schema.String).annotations({ description: "URL of the next (older) page" }),
}).annotations({ identifier: "JobEventList" })

export const History = Schema.Struct({
  history: Schema.Array(StatusJson).annotations({ description: "Statuses, newest first" }),
  next: Schema.NullOr(Schema.String).annotations({
    description: "URL of the next (older) page: a long execution's progress can fill many",
  }),
}).annotations({ identifier: "History" })

/** GET /instances: who is alive, and who holds which lock (Membership). */
export const ClusterJson = Schema.Struct({
  now: Iso.annotations({ description: "The store's time of the reading" }),
  heartbeatEvery: Schema.NullOr(Schema.String).annotations({
    description: "How often this instance announces itself; null: no heartbeat runs here (no HaJobs.layer)",
  }),
  instances: Schema.Array(
    Schema.Struct({
      instance: Schema.String,
      startedAt: Iso,
      lastSeen: Iso.annotations({ description: "Its last heartbeat, by the store's clock" }),
      everyMs: Schema.Number.annotations({ description: "Its heartbeat interval" }),
      gone: Schema.Boolean.annotations({ description: "Not seen for 3 of its intervals" }),
      self: Schema.Boolean.annotations({ description: "The instance that answered" }),
    }),
  ).annotations({ description: "Instances seen within a day, by name" }),
  locks: Schema.Array(
    Schema.Struct({
      lockType: Schema.String,
      jobType: Schema.String,
      jobId: Schema.String,
      fencingToken: Schema.Number,
      instance: Schema.NullOr(Schema.String).annotations({ description: "Who runs the holding execution" }),
      expiresInMs: Schema.Number.annotations({ description: "The lease's time left, by the store's clock" }),
    }),
  ).annotations({ description: "The lock types of this instance's jobs that are held now" }),
}).annotations({ identifier: "Cluster" })

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
  expectations: Schema.optional(
    Schema.Struct({
      overdue: Schema.Array(
        Schema.Struct({
          jobType: Schema.String,
          lastSuccessAt: Schema.NullOr(Iso),
          overdueSince: Iso,
          successWithin: Schema.String,
        }),
      ).annotations({ description: "Job types without a success within their expect.successWithin" }),
      overrunning: Schema.Array(
        Schema.Struct({
          jobType: Schema.String,
          jobId: Schema.String,
          startedAt: Iso,
          maxDuration: Schema.String,
        }),
      ).annotations({ description: "Executions running longer than their job's maxDuration" }),
    }),
  ).annotations({
    description:
      "Deadlines and overruns (HaJobs.layer's Expectations): informational — overdue is not unhealthy unless asked with ?overdue=fail",
  }),
}).annotations({ identifier: "Health" })
export type HealthReport = typeof HealthReport.Type

export const PrometheusText = Schema.String.pipe(
  HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/plain; version=0.0.4; charset=utf-8" }),
)

export const EventStream = Schema.String.pipe(
  HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/event-stream" }),
).annotations({
  description:
    'Server-sent events: `status` ({"jobType","latest"}) when a job type\'s latest execution changes, ' +
    '`store` ({"ok","message"}) when the store becomes unreachable or recovers, ' +
    "`audit` (an audit log entry) for each operator action written since the stream opened, " +
    "`jobEvent` (a job event, as GET /jobs/:jobType/events lists it) for each one recorded or grown (coalesced: same id, higher count) since the stream opened, " +
    '`expectation` ({"jobType","expectations"}) when a job type with expect.successWithin or maxDuration becomes overdue or overrunning, or stops being so',
})

/** The data of an EventStream `status` frame (Events.ts writes it; the dashboard reads it). */
export type StatusEvent = { readonly jobType: string; readonly latest: StatusJson | null }
/** The data of an EventStream `audit` frame: one new audit log entry. */
export type AuditEvent = typeof AuditEntryJson.Encoded
/** The data of an EventStream `jobEvent` frame: one new or grown job event. */
export type JobEventFrame = typeof JobEventJson.Encoded
/** The data of an EventStream `expectation` frame: a job type's standing changed. */
export type ExpectationEvent = { readonly jobType: string; readonly expectations: ExpectationJson }
/** The data of an EventStream `store` frame. */
export type StoreEvent = { readonly ok: true } | { readonly ok: false; readonly message: string }
