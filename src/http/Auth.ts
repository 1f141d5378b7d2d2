import { HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Layer, Option, Redacted } from "effect"
import { Authorization } from "./Api.js"
import { Forbidden } from "./ApiErrors.js"
import { type AuthRequest, HttpSettings } from "./Settings.js"

const readMethods = new Set(["GET", "HEAD", "OPTIONS"])

// The platform's bearer decoder ignores the scheme ("Basic x" would pass as a token): parse it here.
const bearerOf = (request: HttpServerRequest.HttpServerRequest) => {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(request.headers.authorization ?? "")
  return match ? Option.some(Redacted.make(match[1]!)) : Option.none()
}

const challenge = HttpApp.appendPreResponseHandler((_, response) =>
  Effect.succeed(
    response.status === 401
      ? HttpServerResponse.setHeader(response, "www-authenticate", 'Bearer realm="ha-jobs"')
      : response,
  ),
)

/** The Authorization middleware: the configured hook (token or yours), then read-only mode. */
export const layer = Layer.effect(
  Authorization,
  Effect.gen(function* () {
    const settings = yield* HttpSettings
    return Authorization.of({
      bearer: () =>
        Effect.gen(function* () {
          const request = yield* HttpServerRequest.HttpServerRequest
          const auth: AuthRequest = {
            token: bearerOf(request),
            access: readMethods.has(request.method) ? "read" : "write",
            request,
          }
          if (Option.isSome(settings.authorize))
            yield* settings.authorize.value(auth).pipe(Effect.tapErrorTag("Unauthorized", () => challenge))
          // Without a token a browser could be made to POST from any web page (a "simple" request
          // needs no CORS preflight); browsers mark such requests, so refuse them.
          if (auth.access === "write" && request.headers["sec-fetch-site"] === "cross-site")
            return yield* new Forbidden({ message: "cross-site requests may not trigger or cancel jobs" })
          if (auth.access === "write" && settings.readOnly)
            return yield* new Forbidden({
              message: "read-only mode: triggering and cancelling are disabled on this server",
            })
        }),
    })
  }),
)
