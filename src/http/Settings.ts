import { createHash, timingSafeEqual } from "node:crypto"
import type { HttpServerRequest } from "@effect/platform"
import { Config, ConfigError, Context, Duration, Effect, Either, Layer, Option, Redacted } from "effect"
import type { CompatMode } from "../domain/Compat.js"
import * as Env from "../Env.js"
import { type Forbidden, Unauthorized } from "./ApiErrors.js"

/** What an authorization hook is told about a request. */
export interface AuthRequest {
  /** The bearer token of the `Authorization` header, if any. */
  readonly token: Option.Option<Redacted.Redacted<string>>
  /** "write" for POST and DELETE (trigger, cancel, pause, resume), "read" for everything else. */
  readonly access: "read" | "write"
  readonly request: HttpServerRequest.HttpServerRequest
}

/**
 * Decides whether a request may go on: succeed, or fail with 401 (Unauthorized) or 403 (Forbidden).
 * Succeeding with a string names the caller: the audit log records it as who triggered, cancelled,
 * paused or resumed (nothing: "anonymous").
 */
// biome-ignore lint/suspicious/noConfusingVoidType: hooks written before identities return Effect.void; they must still fit.
export type Authorize = (request: AuthRequest) => Effect.Effect<string | void, Unauthorized | Forbidden>

export interface HttpOptions {
  /**
   * The bearer token every request but /health must carry; surrounding whitespace is trimmed, an
   * empty token or one with whitespace or control characters inside is refused. Config: HA_JOBS_API_TOKEN.
   */
  readonly token?: Redacted.Redacted<string> | string | undefined
  /** Your own check instead of the token (e.g. per-user tokens, read vs write). */
  readonly authorize?: Authorize | undefined
  /** Refuse triggers and cancels (403). Config: HA_JOBS_READ_ONLY (default false). */
  readonly readOnly?: boolean | undefined
  /**
   * Where the app is mounted, e.g. "/ops/ha-jobs": requests under it are served with it stripped,
   * and every URL the API writes (Location, latest, next) starts with it. Set it too when a proxy
   * strips the prefix. Config: HA_JOBS_BASE_PATH (default: none).
   */
  readonly basePath?: string | undefined
  /** How often /events polls the store for changes. Config: HA_JOBS_EVENTS_INTERVAL (default 1 second). */
  readonly eventsInterval?: Duration.DurationInput | undefined
  /**
   * How many /events streams may be open at once; beyond it /events answers 503 with Retry-After.
   * Config: HA_JOBS_EVENTS_MAX_STREAMS (default 100).
   */
  readonly maxEventStreams?: number | undefined
  /**
   * @internal Writes (a poll's frames, a heartbeat) queued for one /events client before it counts
   * as too slow and is dropped (default 64). Tests lower it.
   */
  readonly eventsBufferFrames?: number | undefined
  /**
   * "ha-jobs": answer as ha-jobs did, so its own overview page and REST clients work unchanged
   * (version-1 job ids on the wire, `GET /jobs` lists the job types that have run, empty 404s,
   * durations in weeks and months). README "Migrating from ha-jobs". Config: HA_JOBS_COMPAT
   * (default none).
   */
  readonly compat?: CompatMode | undefined
}

/** The HTTP layer's settings, resolved from options and config. */
export class HttpSettings extends Context.Tag("effect-ha-jobs/HttpSettings")<
  HttpSettings,
  {
    readonly basePath: string
    readonly readOnly: boolean
    /** The token or your hook; read-only mode is enforced after it. */
    readonly authorize: Option.Option<Authorize>
    readonly eventsInterval: Duration.Duration
    readonly maxEventStreams: number
    readonly eventsBufferFrames: number
    readonly compat: CompatMode
  }
>() {}

/**
 * 100 streams: one per open dashboard tab, enough for a team watching several instances, while
 * each stream's buffers stay bounded (64 frames, the socket's) and a publish is one pass over them.
 */
export const DefaultMaxEventStreams = Env.EventsMaxStreams.defaultValue
/**
 * Frames a client may lag behind. One this far behind is not reading (its socket's buffers are full
 * too): it is dropped, its browser reconnects, rather than buffered without bound.
 */
export const DefaultEventsBufferFrames = 64

const positiveInteger = (value: number) => Number.isInteger(value) && value > 0

const BasePath = Env.BasePath.config.pipe(
  Config.mapOrFail((raw) =>
    Either.mapLeft(normalizeBasePath(Option.getOrElse(raw, () => "")), (message) =>
      ConfigError.InvalidData([Env.BasePath.name], message),
    ),
  ),
)

/** "/ops/ha-jobs/" -> "/ops/ha-jobs"; "" and "/" -> "" (served at the root). */
export const normalizeBasePath = (raw: string): Either.Either<string, string> => {
  const trimmed = raw.trim().replace(/\/+$/, "")
  if (trimmed === "") return Either.right("")
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(trimmed))
    return Either.left(`base path "${raw}" must look like /segment/segment (letters, digits, . _ ~ -)`)
  return Either.right(trimmed)
}

/**
 * The token trimmed: a file-mounted secret usually ends in a newline, which no client sends, so the
 * token could never match. Refused when nothing is left, or when whitespace or control characters
 * remain inside (a header cannot carry them in one bearer token: it could never match either).
 */
export const checkToken = (raw: string): Either.Either<Redacted.Redacted<string>, string> => {
  const trimmed = raw.trim()
  if (trimmed.length === 0) return Either.left("the API token is empty (after trimming whitespace)")
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
  if (/[\s\u0000-\u001f\u007f-\u009f]/.test(trimmed))
    return Either.left(
      "the API token contains whitespace or control characters: use one word, e.g. the output of `openssl rand -hex 32`",
    )
  return Either.right(Redacted.make(trimmed))
}

export const config = Config.all({
  token: Env.ApiToken.config,
  readOnly: Env.ReadOnly.config,
  basePath: BasePath,
  eventsInterval: Env.EventsInterval.config,
  compat: Env.Compat.config,
  maxEventStreams: Env.EventsMaxStreams.config.pipe(
    Config.validate({
      message: `${Env.EventsMaxStreams.name} must be a positive integer`,
      validation: positiveInteger,
    }),
  ),
})

/** An option that must be a positive integer, or a config error naming it. */
const checkPositiveInteger = (name: string, value: number | undefined) =>
  value === undefined || positiveInteger(value)
    ? Either.right(value)
    : Either.left(ConfigError.InvalidData([name], `${name} must be a positive integer, got ${value}`))

/** Settings from options, falling back to config (environment variables by default). */
export const make = (options: HttpOptions = {}) =>
  Effect.gen(function* () {
    const fromConfig = yield* config
    const token = options.token ?? Option.getOrUndefined(fromConfig.token)
    const secret =
      token === undefined
        ? undefined
        : yield* Either.mapLeft(
            checkToken(typeof token === "string" ? token : Redacted.value(token)),
            (message) =>
              ConfigError.InvalidData([options.token === undefined ? Env.ApiToken.name : "token"], message),
          )
    const basePath =
      options.basePath === undefined
        ? fromConfig.basePath
        : yield* Either.mapLeft(normalizeBasePath(options.basePath), (message) =>
            ConfigError.InvalidData(["basePath"], message),
          )
    const authorize = options.authorize ?? (secret === undefined ? undefined : bearerToken(secret))
    const maxEventStreams = yield* checkPositiveInteger("maxEventStreams", options.maxEventStreams)
    const eventsBufferFrames = yield* checkPositiveInteger("eventsBufferFrames", options.eventsBufferFrames)
    return HttpSettings.of({
      basePath,
      readOnly: options.readOnly ?? fromConfig.readOnly,
      authorize: Option.fromNullable(authorize),
      eventsInterval: Duration.decode(options.eventsInterval ?? fromConfig.eventsInterval),
      maxEventStreams: maxEventStreams ?? fromConfig.maxEventStreams,
      eventsBufferFrames: eventsBufferFrames ?? DefaultEventsBufferFrames,
      compat: options.compat ?? fromConfig.compat,
    })
  })

export const layer = (options?: HttpOptions): Layer.Layer<HttpSettings, ConfigError.ConfigError> =>
  Layer.effect(HttpSettings, make(options))

// Hashing first makes the comparison constant-time whatever the lengths.
const sameSecret = (a: string, b: string) =>
  timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest())

/** The default hook: the request's bearer token must equal `secret`; the caller is "token". */
export const bearerToken =
  (secret: Redacted.Redacted<string>): Authorize =>
  ({ token }) =>
    Option.isSome(token) && sameSecret(Redacted.value(token.value), Redacted.value(secret))
      ? Effect.succeed("token")
      : Effect.fail(
          new Unauthorized({
            message: Option.isNone(token) ? "a bearer token is required" : "the bearer token is wrong",
          }),
        )
