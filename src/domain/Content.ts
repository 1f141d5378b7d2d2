import { Effect, ParseResult, Schema } from "effect"
import { ContentError } from "./Errors.js"

/** Default upper bound of one status' JSON content, in UTF-8 bytes. */
export const DefaultMaxContentBytes = 64 * 1024

/**
 * Turns a job's value into the JSON stored as status content: through the job's schema when it has
 * one, then checked to be plain JSON within the size bound. Fails before anything is written.
 */
export const encodeContent = (
  value: unknown,
  options: { readonly schema?: Schema.Schema<any, any, never> | undefined; readonly maxBytes: number },
): Effect.Effect<unknown, ContentError> =>
  Effect.gen(function* () {
    if (value === undefined) return undefined
    const encoded = options.schema
      ? yield* Schema.encode(options.schema)(value).pipe(
          Effect.mapError(
            (e) =>
              new ContentError({
                message: `content does not match the job's result schema: ${ParseResult.TreeFormatter.formatErrorSync(e)}`,
              }),
          ),
        )
      : value
    return yield* toJson(encoded, options.maxBytes)
  })

export const toJson = (value: unknown, maxBytes: number): Effect.Effect<unknown, ContentError> =>
  Effect.try({
    try: () => JSON.stringify(value),
    catch: (e) => new ContentError({ message: `content is not JSON-serializable: ${String(e)}` }),
  }).pipe(
    Effect.flatMap((text) => {
      if (text === undefined)
        return Effect.fail(new ContentError({ message: `content of type ${typeof value} is not JSON` }))
      const bytes = Buffer.byteLength(text, "utf8")
      if (bytes > maxBytes)
        return Effect.fail(
          new ContentError({
            message: `content is ${bytes} bytes, more than the limit of ${maxBytes} bytes`,
          }),
        )
      return Effect.succeed(JSON.parse(text) as unknown)
    }),
  )
