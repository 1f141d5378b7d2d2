import { HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Layer, Option, Redacted } from "effect"
import * as Env from "../Env.js"
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

// "Host:80" and "Host" are one host whether the page came over http or https (a TLS proxy in front).
const hostKey = (host: string) =>
  host
    .trim()
    .toLowerCase()
    .replace(/:(80|443)$/, "")

/** The hosts this request was addressed to: Host, else the URL's (web handler), and X-Forwarded-Host. */
const ownHosts = (request: HttpServerRequest.HttpServerRequest): ReadonlyArray<string> => {
  const hosts: Array<string> = []
  const host = request.headers.host
  if (host !== undefined) hosts.push(host)
  else if (request.source instanceof Request) hosts.push(new URL(request.source.url).host)
  // A browser page cannot set it without a CORS preflight (which this server never grants), so a
  // forged one cannot get a cross-site write through.
  const forwarded = request.headers["x-forwarded-host"]
  if (forwarded !== undefined) hosts.push(...forwarded.split(","))
  return hosts.map(hostKey)
}

const originHost = (origin: string): string | undefined => {
  try {
    const url = new URL(origin)
    return url.protocol === "http:" || url.protocol === "https:" ? hostKey(url.host) : undefined
  } catch {
    return undefined
  }
}

/**
 * Writes a browser may have been made to send by another site. Without a token a browser could be
 * made to POST from any web page (a "simple" request needs no CORS preflight). Browsers mark such
 * requests: `Sec-Fetch-Site` (recent browsers) and `Origin` (every browser, on POST and DELETE).
 * `same-site` is a sibling site (another subdomain), trusted only with the token, which a page of
 * another site cannot send.
 */
const browserGuard = (request: HttpServerRequest.HttpServerRequest, tokenChecked: boolean) => {
  const site = request.headers["sec-fetch-site"]
  if (site === "cross-site")
    return Effect.fail(
      new Forbidden({
        message:
          "cross-site requests may not trigger or cancel jobs: use this server's dashboard, or call the API from outside a browser",
      }),
    )
  const origin = request.headers.origin
  if (origin !== undefined) {
    const host = originHost(origin)
    const hosts = ownHosts(request)
    if (host === undefined || !hosts.includes(host))
      return Effect.fail(
        new Forbidden({
          message: `origin "${origin.slice(0, 200)}" is not this server (${hosts.join(", ") || "no Host header"}): only this server's own pages may trigger or cancel jobs; behind a proxy that rewrites Host, have it pass the original Host or set X-Forwarded-Host`,
        }),
      )
  }
  if (site === "same-site" && !tokenChecked)
    return Effect.fail(
      new Forbidden({
        message: `same-site requests (from another site of this domain) may trigger or cancel jobs only with the API token: set ${Env.ApiToken.name} and send it as Authorization: Bearer`,
      }),
    )
  return Effect.void
}

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
          const named = Option.isSome(settings.authorize)
            ? yield* settings.authorize.value(auth).pipe(Effect.tapErrorTag("Unauthorized", () => challenge))
            : undefined
          if (auth.access === "write")
            yield* browserGuard(request, Option.isSome(settings.authorize) && Option.isSome(auth.token))
          if (auth.access === "write" && settings.readOnly)
            return yield* new Forbidden({
              message:
                "read-only mode: triggering, cancelling, pausing, resuming and backfilling are disabled on this server",
            })
          return typeof named === "string" && named !== "" ? named : "anonymous"
        }).pipe(
          // A refused write reaches no handler, so it leaves no audit entry: it is logged here.
          Effect.tapError((e) =>
            Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
              readMethods.has(request.method)
                ? Effect.void
                : Effect.logInfo("refused a write request").pipe(
                    Effect.annotateLogs({
                      method: request.method,
                      path: request.url,
                      refusal: e._tag,
                      reason: e.message,
                    }),
                  ),
            ),
          ),
        ),
    })
  }),
)
