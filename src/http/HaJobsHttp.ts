/**
 * src/http: the HTTP API (Api.ts with its schemas and errors), its handlers, health, Prometheus
 * metrics, event streams and the dashboard (dashboard/: typed modules bundled into one inline
 * script). May import: `domain`, `ports`, `core`, `Env`. (docs/architecture.md)
 *
 * This module: the layer that serves it all, and its options.
 */
import { createServer } from "node:http"
import {
  type HttpApi,
  HttpApiBuilder,
  HttpApiSwagger,
  HttpServer,
  type HttpServerError,
  OpenApi,
} from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Config, type ConfigError, Effect, Layer } from "effect"
import type { JobManager } from "../core/JobManager.js"
import type { Scheduler } from "../core/Scheduler.js"
import * as Env from "../Env.js"
import { HaJobsApi } from "./Api.js"
import * as Auth from "./Auth.js"
import * as BasePath from "./BasePath.js"
import * as Dashboard from "./Dashboard.js"
import * as Events from "./Events.js"
import * as Health from "./Health.js"
import * as JobsHandlers from "./JobsHandlers.js"
import * as Prometheus from "./Prometheus.js"
import * as Responses from "./Responses.js"
import * as Settings from "./Settings.js"

export { Authorization, HaJobsApi } from "./Api.js"
export * from "./ApiErrors.js"
export type { Authorize, AuthRequest, HttpOptions } from "./Settings.js"
export { bearerToken, HttpSettings } from "./Settings.js"

/** Where the docs page and the OpenAPI document are served (under the base path). */
export const DocsPath = "/docs"
export const OpenApiPath = "/openapi.json"

/** The API's handlers; they need the manager, the scheduler and the settings. */
const ApiLive = Layer.unwrapEffect(
  Effect.map(Settings.HttpSettings, ({ basePath }) =>
    // Under a base path, the OpenAPI document (and the docs' "try it") must name it as server.
    HttpApiBuilder.api(
      basePath === "" ? HaJobsApi : HaJobsApi.annotate(OpenApi.Servers, [{ url: basePath }]),
    ),
  ),
).pipe(
  Layer.provide([JobsHandlers.layer, Events.layer, Prometheus.layer, Health.layer]),
  Layer.provide(Events.hubLayer),
  Layer.provide(Auth.layer),
)

/**
 * The whole HTTP app: API, OpenAPI document, docs page, dashboard, under the base path. Serve it
 * with `HttpApiBuilder.serve()` on any platform server, or use `layerServer` / `toWebHandler`.
 * Settings come from `options`, else from config (HA_JOBS_API_TOKEN, HA_JOBS_READ_ONLY,
 * HA_JOBS_BASE_PATH, HA_JOBS_EVENTS_INTERVAL, HA_JOBS_EVENTS_MAX_STREAMS).
 */
export const layer = (
  options?: Settings.HttpOptions,
): Layer.Layer<HttpApi.Api, ConfigError.ConfigError, JobManager | Scheduler> =>
  layerWith(Settings.layer(options))

const layerWith = <E>(settings: Layer.Layer<Settings.HttpSettings, E>) =>
  Layer.mergeAll(
    HttpApiSwagger.layer({ path: DocsPath }),
    HttpApiBuilder.middlewareOpenApi({ path: OpenApiPath }),
    Dashboard.layer,
    Responses.layer(DocsPath),
    BasePath.layer,
  ).pipe(Layer.provideMerge(ApiLive), Layer.provide(settings))

/** PORT, default 9000; 0 picks a free port (Config.port would refuse it). */
export const PortConfig = Env.Port.config.pipe(
  Config.validate({
    message: `${Env.Port.name} must be between 0 and 65535`,
    validation: (p) => p >= 0 && p <= 65535,
  }),
)

export interface ServerOptions extends Settings.HttpOptions {
  /** Overrides the PORT config. */
  readonly port?: number | undefined
  /** The interface to listen on (default: all). */
  readonly host?: string | undefined
}

/**
 * Serves API and dashboard on a Node HTTP server and logs the dashboard's URL once listening. It
 * outputs the `HttpServer`, whose `address` tells the port picked for PORT=0.
 */
export const layerServer = (
  options: ServerOptions = {},
): Layer.Layer<
  HttpServer.HttpServer,
  ConfigError.ConfigError | HttpServerError.ServeError,
  JobManager | Scheduler
> => {
  const { port, host, ...httpOptions } = options
  const listen = NodeHttpServer.layerConfig(createServer, {
    port: port === undefined ? PortConfig : Config.succeed(port),
    ...(host === undefined ? {} : { host: Config.succeed(host) }),
  })
  // One settings layer for both, so config is read once.
  const settings = Settings.layer(httpOptions)
  const announce = Layer.effectDiscard(
    Effect.flatMap(Settings.HttpSettings, ({ basePath }) =>
      HttpServer.addressFormattedWith((address) =>
        // 0.0.0.0 is where it listens, not an address to open: show localhost instead.
        Effect.logInfo(
          `ha-jobs dashboard on ${address.replace("://0.0.0.0:", "://localhost:")}${basePath}/jobsOverview`,
        ),
      ),
    ),
  ).pipe(Layer.provide(settings))
  return HttpApiBuilder.serve().pipe(
    Layer.merge(announce),
    Layer.provide(layerWith(settings)),
    Layer.provideMerge(listen),
  )
}

/**
 * A fetch-style handler, `(request: Request) => Promise<Response>`, for serverless hosts. It builds
 * `jobs` (your HaJobs layer with its store) on the first request; call `dispose` on shutdown.
 */
export const toWebHandler = <E>(
  jobs: Layer.Layer<JobManager | Scheduler, E>,
  options?: Settings.HttpOptions,
): {
  readonly handler: (request: Request) => Promise<Response>
  readonly dispose: () => Promise<void>
} => {
  const { handler, dispose } = HttpApiBuilder.toWebHandler(
    Layer.mergeAll(layer(options), HttpServer.layerContext).pipe(Layer.provide(jobs)),
  )
  return { handler: (request) => handler(request), dispose }
}
