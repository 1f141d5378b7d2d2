import { HttpApiBuilder, type HttpApp, HttpServerRequest } from "@effect/platform"
import { Effect } from "effect"
import { HttpSettings } from "./Settings.js"

/**
 * "/ops/ha-jobs/jobs?limit=5" -> "/jobs?limit=5" under base path "/ops/ha-jobs"; undefined when the
 * URL is not under it (then it is served as is: a proxy may already have stripped the prefix).
 */
export const stripBasePath = (basePath: string, url: string): string | undefined => {
  if (basePath === "" || !url.startsWith(basePath)) return undefined
  const rest = url.slice(basePath.length)
  if (rest === "" || rest.startsWith("?")) return `/${rest}`
  return rest.startsWith("/") ? rest : undefined
}

const mount =
  (basePath: string) =>
  (app: HttpApp.Default): HttpApp.Default =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const url = stripBasePath(basePath, request.url)
      return url === undefined
        ? app
        : Effect.provideService(app, HttpServerRequest.HttpServerRequest, request.modify({ url }))
    })

/** Serves the whole app (API, docs, dashboard) under the configured base path. */
export const layer = HttpApiBuilder.middleware(Effect.map(HttpSettings, (s) => mount(s.basePath)))
