import { Cause, Effect, Option, Schema } from "effect"

/**
 * Every public error of the library, and the one way it turns a failure of unknown shape into text.
 * The HTTP API's errors (the bodies it answers) are in http/ApiErrors.ts.
 */

/**
 * One line describing a failure of unknown shape: an error's message, after its `_tag` when it has
 * one that is not the message itself, and with its `code` (ECONNREFUSED, SQLITE_BUSY, 42P01) in
 * parentheses when the message does not name it; a tagged value without a message, its tag; anything
 * else as `String()` shows it. Stores describe their driver's own error classes themselves and use
 * this for the rest.
 */
export const describeCause = (error: unknown): string => {
  if (typeof error !== "object" || error === null) return String(error)
  const { _tag: tag, code } = error as { readonly _tag?: unknown; readonly code?: unknown }
  let text: string
  if (error instanceof Error || "message" in error) {
    const message = String((error as { readonly message: unknown }).message)
    text = typeof tag === "string" && tag !== message ? `${tag}: ${message}` : message
  } else text = "_tag" in error ? String(tag) : String(error)
  return typeof code === "string" && !text.includes(code) ? `${text} (${code})` : text
}

/**
 * The end of an error's `cause` chain: the driver's or the file system's own error, under wrappers
 * ("Failed to execute statement") that say nothing an operator can act on. `error` itself when it
 * has no cause.
 */
export const innermostCause = (error: unknown): unknown => {
  const seen = new Set<unknown>()
  let root = error
  for (let inner = causeOf(root); inner !== undefined && !seen.has(inner); inner = causeOf(root)) {
    seen.add(root)
    root = inner
  }
  return root
}

const causeOf = (e: unknown): unknown => (e as { readonly cause?: unknown } | null | undefined)?.cause

/** The store could not be reached or answered with an error. Nothing was decided. */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  operation: Schema.String,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect),
}) {
  /** A StoreError of `operation` with this message, and the failure it comes from when there is one. */
  static of(operation: string, message: string, cause?: unknown): StoreError {
    return new StoreError({ operation, message, ...(cause === undefined ? {} : { cause }) })
  }

  /**
   * A StoreError from a failure of unknown shape (a driver's): its innermost cause described (e.g.
   * "database is locked (SQLITE_BUSY)"), then `hint`, the store's advice (e.g. "; raise busyTimeout").
   */
  static fromUnknown(operation: string, cause: unknown, hint = ""): StoreError {
    return StoreError.of(operation, `${describeCause(innermostCause(cause))}${hint}`, cause)
  }

  /**
   * Every failure of an effect as a StoreError of `operation`, its cause the failure; a StoreError
   * passes unchanged. The message is `fromUnknown`'s, or `message`'s for a store that knows better
   * how to describe its driver's failures.
   */
  static refail<E>(
    operation: string,
    message?: (error: E, operation: string) => string,
  ): <A, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, StoreError, R> {
    return Effect.mapError((e) =>
      e instanceof StoreError
        ? e
        : message === undefined
          ? StoreError.fromUnknown(operation, e)
          : StoreError.of(operation, message(e, operation), e),
    )
  }
}

/**
 * A failed call of the Cassandra driver. The Cassandra store turns every one into a StoreError
 * before it leaves the store (its message then says which call failed and how); `outcomeUnknown` is
 * the store's verdict, from the driver's error classes: the request may have been applied (the
 * coordinator or the client timed out after it was sent, a socket closed mid-request). For a
 * lightweight transaction that means "outcome unknown": read at SERIAL before deciding.
 */
export class CqlFailure extends Schema.TaggedError<CqlFailure>()("CqlFailure", {
  cause: Schema.Defect,
  outcomeUnknown: Schema.Boolean,
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
      : `${Option.isNone(failure) ? "defect: " : ""}${describeCause(error)}`
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text
}
