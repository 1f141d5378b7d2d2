import {
  Headers,
  HttpApiBuilder,
  HttpApp,
  HttpServerError,
  HttpServerRequest,
  HttpServerResponse,
} from "@effect/platform"
import { Chunk, Effect, Layer, Schema } from "effect"
import { InvalidParameter, MethodNotAllowed } from "./ApiErrors.js"
import { stripBasePath } from "./BasePath.js"
import { pageCsp } from "./Dashboard.js"
import { HttpSettings } from "./Settings.js"

/**
 * What every response of the app gets, whichever part answers it (API, docs, dashboard, the
 * router's own 404): `nosniff`, the docs page's security headers, and 405 rather than 404 for a
 * path that exists with other methods.
 */

/**
 * The Swagger UI page (the platform's) is one HTML document with its script and style inline and
 * the OpenAPI document as a JSON data block: allow exactly that script and style, by hash, like the
 * dashboard. "Try it out" calls this server (connect-src 'self'); its icons are data: images.
 */
export const docsCsp = (html: string): string => {
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? ""
  const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? ""
  return pageCsp(script, style)
}

// The docs page is built once, so its body is always the same bytes: hash them once.
const docsCspCache = new WeakMap<Uint8Array, string>()
const docsHeaders = (response: HttpServerResponse.HttpServerResponse) => {
  if (response.status !== 200 || response.body._tag !== "Uint8Array") return response
  const bytes = response.body.body
  let csp = docsCspCache.get(bytes)
  if (csp === undefined) {
    csp = docsCsp(new TextDecoder().decode(bytes))
    docsCspCache.set(bytes, csp)
  }
  return HttpServerResponse.setHeaders(response, {
    "content-security-policy": csp,
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
  })
}

// Without it a browser may guess a type from the content: JSON holding job content could be run
// as HTML or script if an older browser sniffed it so.
const nosniff = HttpApp.appendPreResponseHandler((_, response) =>
  Effect.succeed(HttpServerResponse.setHeader(response, "x-content-type-options", "nosniff")),
)

/**
 * A request body the platform could not decode answers 400 in its own shape ({issues, message}
 * naming the schema), or with no body at all when the JSON does not parse. Every error of this API
 * answers {"status":"KO","message"}: rewrite both into InvalidParameter, naming the field.
 */
const decodeErrorBody = (response: HttpServerResponse.HttpServerResponse) => {
  if (response.status !== 400) return response
  const body = response.body
  let parsed: { _tag?: unknown; issues?: Array<{ path?: Array<unknown>; message?: unknown }> } | undefined
  if (body._tag === "Uint8Array") {
    try {
      parsed = JSON.parse(new TextDecoder().decode(body.body))
    } catch {
      return response
    }
    if (parsed?._tag !== "HttpApiDecodeError") return response
  } else if (body._tag !== "Empty") return response
  const issue = parsed?.issues?.[0]
  const field = issue?.path?.map(String).join(".") ?? ""
  const error = new InvalidParameter(
    parsed === undefined
      ? {
          parameter: "body",
          message: 'the request body is not valid JSON: send a JSON object, e.g. {"note":"why"}',
        }
      : {
          parameter: field === "" ? "body" : field,
          message:
            field === ""
              ? `the request body must be a JSON object: ${String(issue?.message ?? "")}`
              : `${field}: ${String(issue?.message ?? "")}`,
        },
  )
  return HttpServerResponse.unsafeJson(Schema.encodeSync(InvalidParameter)(error), {
    status: 400,
    headers: response.headers,
  })
}

/** ha-jobs answered every 404 with an empty body; its clients and tests expect exactly that. */
const emptyNotFound = (response: HttpServerResponse.HttpServerResponse) =>
  response.status === 404 && response.body._tag !== "Empty"
    ? HttpServerResponse.empty({
        status: 404,
        headers: Headers.remove(Headers.remove(response.headers, "content-type"), "content-length"),
      })
    : response

/** Does a router path ("/jobs/:jobType", "/files/*") match `path` ("/jobs/import")? */
export const pathMatches = (pattern: string, path: string): boolean => {
  const want = pattern.split("/")
  const have = path.split("/")
  for (let i = 0; i < want.length; i++) {
    const segment = want[i]!
    if (segment === "*") return true
    if (i >= have.length) return false
    if (segment.startsWith(":") ? have[i] === "" : segment !== have[i]) return false
  }
  return want.length === have.length
}

// Provides Router.Live as Router.use does: the same (memoized) router the app adds its routes to.
export const layer = (docsPath: string) =>
  HttpApiBuilder.middleware(
    Effect.gen(function* () {
      const { basePath, compat } = yield* HttpSettings
      const router = yield* HttpApiBuilder.Router
      // Read when first needed: by then every part of the app has added its routes.
      const allRoutes = yield* Effect.cached(
        Effect.map(router.router, (r) => Chunk.toReadonlyArray(r.routes)),
      )
      return (app: HttpApp.Default<unknown>): HttpApp.Default =>
        Effect.gen(function* () {
          const request = yield* HttpServerRequest.HttpServerRequest
          const url = stripBasePath(basePath, request.url) ?? request.url
          const path = url.split("?")[0]!
          yield* nosniff
          yield* HttpApp.appendPreResponseHandler((_, response) => Effect.succeed(decodeErrorBody(response)))
          if (compat === "ha-jobs")
            yield* HttpApp.appendPreResponseHandler((_, response) => Effect.succeed(emptyNotFound(response)))
          if (path === docsPath)
            yield* HttpApp.appendPreResponseHandler((_, response) => Effect.succeed(docsHeaders(response)))
          return yield* app.pipe(
            Effect.catchIf(
              (e) => e instanceof HttpServerError.RouteNotFound,
              (notFound) =>
                Effect.gen(function* () {
                  const methods = new Set(
                    (yield* allRoutes).filter((r) => pathMatches(r.path, path)).map((r) => r.method),
                  )
                  // The router answers HEAD with the GET route.
                  if (methods.has("GET")) methods.add("HEAD")
                  if (methods.size === 0) return yield* notFound
                  const allow = [...methods].sort().join(", ")
                  const body = Schema.encodeSync(MethodNotAllowed)(
                    new MethodNotAllowed({
                      message: `${request.method} is not allowed on ${path}; use ${allow}`,
                    }),
                  )
                  return HttpServerResponse.unsafeJson(body, { status: 405, headers: { allow } })
                }),
            ),
          ) as HttpApp.Default
        })
    }),
  ).pipe(Layer.provide(HttpApiBuilder.Router.Live))
