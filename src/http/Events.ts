import { Headers, HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Context, Duration, Effect, Either, Layer, PubSub, RcRef, Stream } from "effect"
import { JobManager } from "../services/JobManager.js"
import { HaJobsApi } from "./Api.js"
import { HttpSettings } from "./Settings.js"
import { toStatusJson } from "./StatusJson.js"

/** Comment lines keep idle connections open through proxies. */
export const HeartbeatInterval = Duration.seconds(15)
/** How long the poller outlives its last subscriber (a page reload should not restart it). */
const IdleTimeToLive = Duration.seconds(10)
/** Store reads in flight at once per poll. */
const PollConcurrency = 4

const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`

/**
 * The core has no change feed, so one shared poller reads each job type's latest status every
 * `eventsInterval` while someone listens, and publishes what changed. Its cost is one bounded read
 * per job type per interval, however many dashboards are open.
 */
export class EventHub extends Context.Tag("effect-ha-jobs/http/EventHub")<
  EventHub,
  {
    /** Server-sent event frames: the current state first, then the changes. */
    readonly frames: Stream.Stream<string>
  }
>() {}

export const make = Effect.gen(function* () {
  const manager = yield* JobManager
  const settings = yield* HttpSettings

  const poller = yield* RcRef.make({
    idleTimeToLive: IdleTimeToLive,
    acquire: Effect.gen(function* () {
      const pubsub = yield* Effect.acquireRelease(PubSub.sliding<string>(1024), PubSub.shutdown)
      // jobType -> [change key, frame]; written by the poll fiber only.
      const current = new Map<string, readonly [string, string]>()
      let storeFrame: string | undefined
      const poll = Effect.gen(function* () {
        const results = yield* Effect.forEach(
          manager.jobTypes,
          (jobType) => Effect.map(Effect.either(manager.latest(jobType)), (r) => [jobType, r] as const),
          { concurrency: PollConcurrency },
        )
        const failure = results.map(([, r]) => r).find(Either.isLeft)
        const nextStore = failure
          ? frame("store", { ok: false, message: `the store is unavailable: ${failure.left.message}` })
          : undefined
        if (nextStore !== storeFrame) {
          storeFrame = nextStore
          yield* PubSub.publish(pubsub, nextStore ?? frame("store", { ok: true }))
        }
        for (const [jobType, result] of results) {
          if (Either.isLeft(result)) continue
          const latest = result.right._tag === "Some" ? toStatusJson(result.right.value, false) : null
          const key = latest ? `${latest.jobId}|${latest.jobState}|${latest.jobStatusTs}` : ""
          if (current.get(jobType)?.[0] === key) continue
          const next = frame("status", { jobType, latest })
          current.set(jobType, [key, next])
          yield* PubSub.publish(pubsub, next)
        }
      })
      yield* poll
      // A defect in one poll must not end the live updates for everyone.
      const pollSafely = poll.pipe(
        Effect.catchAllCause((cause) => Effect.logWarning("polling for live events failed", cause)),
      )
      yield* pollSafely.pipe(Effect.delay(settings.eventsInterval), Effect.forever, Effect.forkScoped)
      return {
        pubsub,
        snapshot: () => [...(storeFrame ? [storeFrame] : []), ...[...current.values()].map(([, f]) => f)],
      }
    }),
  })

  const heartbeat = Stream.tick(HeartbeatInterval).pipe(
    Stream.drop(1),
    Stream.map(() => ": ping\n\n"),
  )

  const frames = Stream.unwrapScoped(
    Effect.gen(function* () {
      const hub = yield* RcRef.get(poller)
      // Subscribe before reading the snapshot: a change in between is sent twice, never lost.
      const changes = yield* PubSub.subscribe(hub.pubsub)
      return Stream.fromIterable([": connected\nretry: 2000\n\n", ...hub.snapshot()]).pipe(
        Stream.concat(Stream.fromQueue(changes)),
        Stream.merge(heartbeat, { haltStrategy: "left" }),
      )
    }),
  )

  return EventHub.of({ frames })
})

export const hubLayer: Layer.Layer<EventHub, never, JobManager | HttpSettings> = Layer.scoped(EventHub, make)

export const layer = HttpApiBuilder.group(HaJobsApi, "events", (handlers) =>
  Effect.gen(function* () {
    const hub = yield* EventHub
    return handlers.handle("events", () =>
      Effect.succeed(
        HttpServerResponse.stream(Stream.encodeText(hub.frames), {
          contentType: "text/event-stream",
          // no-transform and X-Accel-Buffering stop proxies from buffering the stream. Without
          // keep-alive, a server shutting down need not wait for an ended stream's connection.
          headers: Headers.fromInput({
            "cache-control": "no-cache, no-transform",
            "x-accel-buffering": "no",
            connection: "close",
          }),
        }),
      ),
    )
  }),
)
