/**
 * A job's parameters: what an operator passes to a manual run (`POST /jobs/:jobType` with
 * `{"params": ...}`, or `trigger(jobType, { params })`), checked against the job's `params` schema.
 * The encoded form is stored with every status of the trigger (shown, and given again to its
 * retries); the decoded one is `JobContext.params`.
 */
import { Effect, JSONSchema, Option, ParseResult, Schema } from "effect"
import { InvalidInput } from "../domain/Errors.js"
import type { ResolvedJob } from "./Job.js"
import { JobContext } from "./JobContext.js"

/** Params are stored in every status of their trigger: kept small (UTF-8 bytes of their JSON). */
export const MaxParamsBytes = 8 * 1024

/** A trigger's params, checked: as stored (JSON, the schema's encoded side) and as the job gets them. */
export interface TriggerParams {
  readonly encoded: unknown
  readonly decoded: unknown
}

const invalid = (message: string) => new InvalidInput({ field: "params", message })

/**
 * Checks `raw` (the encoded form: JSON as the HTTP API takes it, or a retry's stored params) against
 * the job's schema. None given: none (cron, catch-up and continuous runs never have any). Given to a
 * job that declares none: refused, so a typo in a job type or a forgotten schema does not run the job
 * with its arguments silently ignored.
 */
export const decode = (
  job: Pick<ResolvedJob, "type" | "definition">,
  raw: unknown,
): Effect.Effect<Option.Option<TriggerParams>, InvalidInput> =>
  Effect.gen(function* () {
    if (raw === undefined || raw === null) return Option.none()
    const schema = job.definition.params
    if (schema === undefined)
      return yield* invalid(
        `job type "${job.type}" takes no params: trigger it without them, or declare a params schema on the job`,
      )
    const decoded = yield* Schema.decodeUnknown(schema)(raw).pipe(
      Effect.mapError((e) => invalid(`params: ${ParseResult.TreeFormatter.formatErrorSync(e)}`)),
    )
    // Stored as the schema encodes the decoded value: unknown keys dropped, one spelling per value.
    const encoded = yield* Schema.encode(schema)(decoded).pipe(
      Effect.mapError((e) => invalid(`params: ${ParseResult.TreeFormatter.formatErrorSync(e)}`)),
    )
    const text = yield* Effect.try({
      try: () => JSON.stringify(encoded),
      catch: (e) => invalid(`params must encode to JSON: ${String(e)}`),
    })
    if (text === undefined) return yield* invalid("params must encode to JSON")
    const bytes = Buffer.byteLength(text, "utf8")
    if (bytes > MaxParamsBytes)
      return yield* invalid(
        `params are ${bytes} bytes of JSON, more than the limit of ${MaxParamsBytes}: pass what names the work (an id, a date range), not the data`,
      )
    return Option.some({ encoded: JSON.parse(text) as unknown, decoded })
  })

/**
 * The running execution's params, typed by the job's own `params` schema (pass that schema): none
 * for runs triggered without params (cron, catch-up, continuous, a manual run without a body).
 */
export const get = <A, I>(
  _schema: Schema.Schema<A, I, never>,
): Effect.Effect<Option.Option<A>, never, JobContext> =>
  Effect.map(JobContext, (context) => context.params as Option.Option<A>)

/**
 * The JSON Schema of what a manual run of the job takes as params (the encoded side of its schema),
 * for the API and the dashboard's editor; none when the job takes no params. A schema the generator
 * cannot describe (a declaration without a JSON Schema annotation) is `{}`: any JSON, checked on
 * trigger.
 */
export const jsonSchema = (job: Pick<ResolvedJob, "definition">): Option.Option<object> => {
  const schema = job.definition.params
  if (schema === undefined) return Option.none()
  try {
    return Option.some(JSONSchema.make(Schema.encodedSchema(schema)))
  } catch {
    return Option.some({})
  }
}
