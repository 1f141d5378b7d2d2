import { Cause, Option, Schema } from "effect"

/** The store could not be reached or answered with an error. Nothing was decided. */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  operation: Schema.String,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect),
}) {}

export class UnknownJobType extends Schema.TaggedError<UnknownJobType>()("UnknownJobType", {
  jobType: Schema.String,
  message: Schema.String,
}) {
  static of = (jobType: string) => new UnknownJobType({ jobType, message: `unknown job type "${jobType}"` })
}

/** A name, id, limit or other argument that does not parse. */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  field: Schema.String,
  message: Schema.String,
}) {}

/** A job definition the manager refuses to run (bad name, lease, duplicate type...). */
export class InvalidJobDefinition extends Schema.TaggedError<InvalidJobDefinition>()("InvalidJobDefinition", {
  jobType: Schema.String,
  message: Schema.String,
}) {}

/** Content that cannot be stored: not JSON, not encodable by the job's schema, or too large. */
export class ContentError extends Schema.TaggedError<ContentError>()("ContentError", {
  message: Schema.String,
}) {}

/** The scheduler's preconditions hook failed: nothing was scheduled. */
export class SchedulingPreconditionsFailed extends Schema.TaggedError<SchedulingPreconditionsFailed>()(
  "SchedulingPreconditionsFailed",
  { message: Schema.String },
) {}

/** A short, human-readable message for a failure or defect (shown in the status' reason). */
export const failureMessage = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  const error = Option.isSome(failure) ? failure.value : Cause.squash(cause)
  const text =
    error instanceof StoreError
      ? `store unavailable (${error.operation}): ${error.message}`
      : describe(error, Option.isNone(failure))
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text
}

const describe = (error: unknown, defect: boolean): string => {
  const prefix = defect ? "defect: " : ""
  if (error instanceof Error || (typeof error === "object" && error !== null && "message" in error)) {
    const tag = (error as { _tag?: unknown })._tag
    const message = String((error as { message: unknown }).message)
    return `${prefix}${typeof tag === "string" && tag !== message ? `${tag}: ` : ""}${message}`
  }
  if (typeof error === "object" && error !== null && "_tag" in error) return `${prefix}${String(error._tag)}`
  return `${prefix}${String(error)}`
}
