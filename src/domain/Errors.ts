import { Schema } from "effect"

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
