import { Headers, HttpApiBuilder, HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import {
  Context,
  Duration,
  Effect,
  Either,
  Fiber,
  Layer,
  Option,
  Queue,
  RcRef,
  type Scope,
  Stream,
} from "effect"
import { Expectations } from "../core/Expectations.js"
import { nextShare } from "../core/InTurn.js"
import { JobManager } from "../core/JobManager.js"
import { HaJobsApi } from "./Api.js"
import { TooManyEventStreams } from "./ApiErrors.js"
import type { AuditEvent, ExpectationEvent, JobEventFrame, StatusEvent, StoreEvent } from "./ApiSchemas.js"
import { HttpSettings } from "./Settings.js"
import { toAuditJson, toExpectationJson, toJobEventJson, toStatusJson } from "./StatusEncoding.js"

/** Comment lines keep idle connections open through proxies. */
export const HeartbeatInterval = Duration.seconds(15)
/** How long the poller outlives its last subscriber (a page reload should not restart it). */
const IdleTimeToLive = Duration.seconds(10)
/** Audit entries read per poll: more written within one interval than this are not all streamed (GET /audit has them). */
const AuditPerPoll = 20
/** Job events read per job type per poll: more recorded within one interval are not all streamed (GET /jobs/:jobType/events has them). */
const JobEventsPerPoll = 20
/** Store reads in flight at once per poll. */
const PollConcurrency = 4
/**
 * Job types read per poll (their latest execution and newest events): with more, each poll reads
 * the next ones in turn, so a poll costs at most 2 × this many reads whatever the job type count, and
 * a change shows within ceil(job types / this) intervals.
 */
export const PollTypesPerInterval = 200
/** Seconds a client refused for the cap is told to wait (Retry-After). */
export const RetryAfterSeconds = 10

/** One SSE frame; the payload types are the ones the dashboard reads (ApiSchemas), so both sides agree. */
const frame = <E extends keyof EventPayloads>(event: E, data: EventPayloads[E]) =>
  `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
interface EventPayloads {
  readonly status: StatusEvent
  readonly store: StoreEvent
  readonly audit: AuditEvent
  readonly jobEvent: JobEventFrame
  readonly expectation: ExpectationEvent
}
/** The first frame; `retry` is how long EventSource waits before reconnecting when a stream ends. */
const Connected = ": connected\nretry: 2000\n\n"
const Ping = ": ping\n\n"

/** What the hub may do to a client's connection besides ending its stream (the Node socket, if any). */
export interface Connection {
  /** Closes the connection at once, buffered bytes and all. */
  readonly abort: () => void
  /** Whether writes wait for the client to read (its socket's buffers are full). */
  readonly blocked: () => boolean
}

interface Subscriber {
  readonly queue: Queue.Queue<string>
  /** The fiber writing this client's response. */
  readonly writer: Fiber.RuntimeFiber<unknown, unknown>
  readonly connection: Connection | undefined
}

/**
 * The core has no change feed, so one shared poller reads each job type's latest status and newest
 * job events every `eventsInterval` while someone listens, and publishes what changed (deadlines and
 * overruns come from Expectations' last check, without a read). Its cost is two bounded reads per
 * job type per interval, however many dashboards are open: each frame is serialized once, and
 * publishing it is one pass offering the same string to every client's queue. Heartbeats come from
 * the same hub (one timer), so an idle client costs its queue and its socket only.
 *
 * A client's queue is bounded (`eventsBufferFrames`). When a publish finds it full, the client is
 * not reading (the response waits for its socket to drain): it is dropped then and there, and
 * nothing waits for it. EventSource reconnects after `retry`.
 */
export class EventHub extends Context.Tag("effect-ha-jobs/http/EventHub")<
  EventHub,
  {
    /**
     * One client's server-sent event frames: the current state first, then the changes and
     * heartbeats. Takes one of the `maxEventStreams` places until the scope closes (the request's:
     * however the response ends); fails with TooManyEventStreams when none is left.
     */
    readonly open: (
      connection?: Connection,
    ) => Effect.Effect<Stream.Stream<string>, TooManyEventStreams, Scope.Scope>
    /** Streams open now. */
    readonly openStreams: Effect.Effect<number>
  }
>() {}

export const make = Effect.gen(function* () {
  const manager = yield* JobManager
  const settings = yield* HttpSettings
  // Deadlines and overruns as last checked (no store read); absent without HaJobs.layer.
  const expectations = yield* Effect.serviceOption(Expectations)

  const poller = yield* RcRef.make({
    idleTimeToLive: IdleTimeToLive,
    acquire: Effect.gen(function* () {
      const subscribers = new Set<Subscriber>()
      const hubFiber = yield* Effect.fiberId
      const end = (s: Subscriber, abort: boolean) =>
        Effect.gen(function* () {
          subscribers.delete(s)
          // Ends the stream when it next reads its queue...
          yield* Queue.shutdown(s.queue)
          if (!abort) return
          // ...but a writer waiting for the socket to drain never does: stop it, and close the
          // socket, whose buffered bytes would otherwise wait for a client that does not read.
          yield* Fiber.interruptAsFork(s.writer, hubFiber)
          s.connection?.abort()
        })
      // Synchronous, so nothing interleaves with the snapshot a subscriber starts with.
      const publish = (frame: string) =>
        Effect.suspend(() => {
          const slow: Array<Subscriber> = []
          for (const s of subscribers) if (!s.queue.unsafeOffer(frame)) slow.push(s)
          return Effect.forEach(slow, (s) => end(s, true), { discard: true })
        })
      // On shutdown, streams end after what they have; one stuck on a full socket is closed, else
      // the server would wait for it to close.
      yield* Effect.addFinalizer(() =>
        Effect.forEach([...subscribers], (s) => end(s, s.connection?.blocked() ?? false), { discard: true }),
      )

      // jobType -> [change key, frame]; written by the poll fiber only. A new subscriber gets these.
      const current = new Map<string, readonly [string, string]>()
      const standing = new Map<string, readonly [string, string]>()
      // jobType -> event id -> count, of the newest events read: a new id, or a higher count (a
      // coalesced event that grew), is news. Unset until a job type's first poll, which only sets it.
      const seenEvents = new Map<string, ReadonlyMap<string, number>>()
      let storeFrame: string | undefined
      // The newest audit entry id seen: entries after it are new. Unset until the first poll, which
      // only sets it (a stream starts with the state, not with the past).
      let lastAudit: string | undefined
      // Where the next poll's share of the job types starts (PollTypesPerInterval).
      let shareAt = 0
      const share = () => {
        const [types, next] = nextShare(manager.jobTypes, PollTypesPerInterval, shareAt)
        shareAt = next
        return types
      }
      const poll = Effect.gen(function* () {
        // One queue item per poll, however many frames it has: a burst (hundreds of slots firing in
        // the same second) is one write, and a client is slow when it is polls behind, not frames.
        const out: Array<string> = []
        const polled = share()
        const results = yield* Effect.forEach(
          polled,
          (jobType) => Effect.map(Effect.either(manager.latest(jobType)), (r) => [jobType, r] as const),
          { concurrency: PollConcurrency },
        )
        const failure = results.map(([, r]) => r).find(Either.isLeft)
        const nextStore = failure
          ? frame("store", { ok: false, message: `the store is unavailable: ${failure.left.message}` })
          : undefined
        if (nextStore !== storeFrame) {
          storeFrame = nextStore
          out.push(nextStore ?? frame("store", { ok: true }))
        }
        const audit = yield* Effect.either(manager.auditLog({ limit: AuditPerPoll }))
        if (Either.isRight(audit)) {
          const newest = audit.right[0]?.id ?? ""
          if (lastAudit !== undefined)
            for (const entry of audit.right.filter((e) => e.id > (lastAudit ?? "")).reverse())
              out.push(frame("audit", toAuditJson(entry)))
          if (lastAudit === undefined || newest > lastAudit) lastAudit = newest
        }
        const events = yield* Effect.forEach(
          polled,
          (jobType) =>
            Effect.map(
              Effect.either(manager.events(jobType, { limit: JobEventsPerPoll })),
              (r) => [jobType, r] as const,
            ),
          { concurrency: PollConcurrency },
        )
        for (const [jobType, result] of events) {
          if (Either.isLeft(result)) continue
          const seen = seenEvents.get(jobType)
          if (seen !== undefined)
            for (const event of [...result.right].reverse())
              if ((seen.get(event.id) ?? 0) < event.count) out.push(frame("jobEvent", toJobEventJson(event)))
          seenEvents.set(jobType, new Map(result.right.map((e) => [e.id, e.count])))
        }
        if (Option.isSome(expectations))
          for (const x of yield* expectations.value.current) {
            const json = toExpectationJson(x)
            // Only a change of standing is news (lastSuccessAt moves with every success: status frames tell that).
            const key = `${json.overdueSince ?? ""}|${json.overrunning.join(",")}`
            if (standing.get(x.jobType)?.[0] === key) continue
            const next = frame("expectation", { jobType: x.jobType, expectations: json })
            standing.set(x.jobType, [key, next])
            out.push(next)
          }
        for (const [jobType, result] of results) {
          if (Either.isLeft(result)) continue
          const latest =
            result.right._tag === "Some" ? toStatusJson(result.right.value, false, settings.compat) : null
          const key = latest ? `${latest.jobId}|${latest.jobState}|${latest.jobStatusTs}` : ""
          if (current.get(jobType)?.[0] === key) continue
          const next = frame("status", { jobType, latest })
          current.set(jobType, [key, next])
          out.push(next)
        }
        if (out.length > 0) yield* publish(out.join(""))
      })
      yield* poll
      // A defect in one poll must not end the live updates for everyone.
      const pollSafely = poll.pipe(
        Effect.catchAllCause((cause) => Effect.logWarning("polling for live events failed", cause)),
      )
      yield* pollSafely.pipe(Effect.delay(settings.eventsInterval), Effect.forever, Effect.forkScoped)
      yield* publish(Ping).pipe(Effect.delay(HeartbeatInterval), Effect.forever, Effect.forkScoped)
      return {
        /** Registers `s` and returns the frames it starts with, in one step. */
        subscribe: (s: Subscriber): ReadonlyArray<string> => {
          subscribers.add(s)
          return [
            Connected,
            ...(storeFrame ? [storeFrame] : []),
            ...[...current.values(), ...standing.values()].map(([, f]) => f),
          ]
        },
        unsubscribe: (s: Subscriber) => subscribers.delete(s),
      }
    }),
  })

  let openStreams = 0
  // A place among the `maxEventStreams`, held until the scope closes.
  const place = Effect.acquireRelease(
    Effect.suspend(() => {
      if (openStreams >= settings.maxEventStreams)
        return Effect.fail(TooManyEventStreams.of(settings.maxEventStreams))
      openStreams++
      return Effect.void
    }),
    () =>
      Effect.sync(() => {
        openStreams--
      }),
  )

  const open = (connection?: Connection) =>
    Effect.as(
      place,
      Stream.unwrapScoped(
        Effect.gen(function* () {
          const hub = yield* RcRef.get(poller)
          const queue = yield* Queue.bounded<string>(settings.eventsBufferFrames)
          // The stream runs on the fiber that writes the response: the one to stop if it stalls.
          const writer = yield* Effect.withFiberRuntime<Fiber.RuntimeFiber<unknown, unknown>>((fiber) =>
            Effect.succeed(fiber),
          )
          const subscriber: Subscriber = { queue, writer, connection }
          const first = yield* Effect.acquireRelease(
            Effect.sync(() => hub.subscribe(subscriber)),
            () =>
              Effect.zipRight(
                Effect.sync(() => hub.unsubscribe(subscriber)),
                Queue.shutdown(queue),
              ),
          )
          return Stream.fromIterable(first).pipe(Stream.concat(Stream.fromQueue(queue)))
        }),
      ),
    )

  return EventHub.of({ open, openStreams: Effect.sync(() => openStreams) })
})

export const hubLayer: Layer.Layer<EventHub, never, JobManager | HttpSettings> = Layer.scoped(EventHub, make)

/** The Node socket a request came on; none through a fetch-style web handler. */
const connectionOf = (request: HttpServerRequest.HttpServerRequest): Connection | undefined => {
  const socket = (request.source as { readonly socket?: unknown }).socket as
    | { readonly destroy?: () => void; readonly writableNeedDrain?: boolean }
    | undefined
  if (typeof socket?.destroy !== "function") return undefined
  return { abort: () => socket.destroy?.(), blocked: () => socket.writableNeedDrain === true }
}

const streamHeaders = Headers.fromInput({
  // no-transform and X-Accel-Buffering stop proxies from buffering the stream. Without keep-alive,
  // a server shutting down need not wait for an ended stream's connection.
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
  connection: "close",
})

const retryAfter = HttpApp.appendPreResponseHandler((_, response) =>
  Effect.succeed(HttpServerResponse.setHeader(response, "retry-after", String(RetryAfterSeconds))),
)

export const layer = HttpApiBuilder.group(HaJobsApi, "events", (handlers) =>
  Effect.gen(function* () {
    const hub = yield* EventHub
    return handlers.handle("events", () =>
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        // HEAD sends no body: no stream, no place taken (a web handler would never release it).
        const frames =
          request.method === "HEAD"
            ? Stream.empty
            : yield* hub.open(connectionOf(request)).pipe(Effect.tapError(() => retryAfter))
        return HttpServerResponse.stream(Stream.encodeText(frames), {
          contentType: "text/event-stream",
          headers: streamHeaders,
        })
      }),
    )
  }),
)
