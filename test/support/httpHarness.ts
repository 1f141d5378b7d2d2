import { HttpServer } from "@effect/platform"
import { ConfigProvider, Context, Effect, Exit, Layer, Logger, LogLevel, Ref, Scope } from "effect"
import type { Any } from "../../src/core/Job.js"
import { JobManager } from "../../src/core/JobManager.js"
import { StoreError } from "../../src/domain/Errors.js"
import * as HaJobs from "../../src/HaJobs.js"
import * as HaJobsHttp from "../../src/http/HaJobsHttp.js"
import { LockRepository } from "../../src/ports/LockRepository.js"
import { StatusRepository } from "../../src/ports/StatusRepository.js"
import * as MemoryStore from "../../src/stores/memory/MemoryStore.js"
import { type Stores, storesLayer } from "./harness.js"

/** Config with nothing set, so a developer's HA_JOBS_* variables cannot leak into tests; few logs. */
export const testEnv = Layer.mergeAll(
  Layer.setConfigProvider(ConfigProvider.fromMap(new Map())),
  Logger.minimumLogLevel(LogLevel.Warning),
)

/** Memory stores that fail every call with StoreError while `down` is true. */
export const makeSwitchableStores = Effect.gen(function* () {
  const inner = yield* MemoryStore.make
  const down = yield* Ref.make(false)
  const guard = <A, E, R>(operation: string, effect: Effect.Effect<A, E, R>) =>
    Effect.flatMap(
      Ref.get(down),
      (isDown): Effect.Effect<A, E | StoreError, R> =>
        isDown
          ? Effect.fail(new StoreError({ operation, message: "connection refused (injected)" }))
          : effect,
    )
  const l = inner.lockRepository
  const s = inner.statusRepository
  const stores: Stores = {
    lockRepository: LockRepository.of({
      acquire: (r) => guard("acquire", l.acquire(r)),
      renew: (k, t) => guard("renew", l.renew(k, t)),
      release: (k) => guard("release", l.release(k)),
      holder: (lt) => guard("holder", l.holder(lt)),
      lease: (lt) => guard("lease", l.lease(lt)),
      requestCancel: (lt, jt) => guard("requestCancel", l.requestCancel(lt, jt)),
      claimSlot: (c) => guard("claimSlot", l.claimSlot(c)),
      slotClaim: (jt, slot, o) => guard("slotClaim", l.slotClaim(jt, slot, o)),
      lastSlot: (jt) => guard("lastSlot", l.lastSlot(jt)),
      pause: (p) => guard("pause", l.pause(p)),
      resume: (jt) => guard("resume", l.resume(jt)),
      paused: (jt) => guard("paused", l.paused(jt)),
    }),
    statusRepository: StatusRepository.of({
      save: (st) => guard("save", s.save(st)),
      list: (jt, o) => guard("list", s.list(jt, o)),
      listPending: (jt, o) => guard("listPending", s.listPending(jt, o)),
      get: (jt, id) => guard("get", s.get(jt, id)),
      history: (jt, id, o) => guard("history", s.history(jt, id, o)),
      record: (e) => guard("record", s.record(e)),
      auditLog: (o) => guard("auditLog", s.auditLog(o)),
      recordEvent: (e) => guard("recordEvent", s.recordEvent(e)),
      announce: (b) => guard("announce", s.announce(b)),
      instances: guard("instances", s.instances),
      events: (o) => guard("events", s.events(o)),
    }),
  }
  return { stores, down } as const
})

/** The instance under test: HaJobs (no supervisor unless asked) on the given stores. */
export const jobsLayer = (
  stores: Stores | StoreLayer,
  jobs: ReadonlyArray<Any<any>>,
  options: HaJobs.HaJobsOptions = {},
) =>
  HaJobs.layer(jobs as Array<Any>, { instance: "test", supervisor: false, ...options }).pipe(
    Layer.provide("lockRepository" in stores ? storesLayer(stores) : stores),
  )

/** A real store's layer (SQLite on a file, ...) instead of repositories built in the test. */
type StoreLayer = Layer.Layer<LockRepository | StatusRepository, StoreError>

/** A running app reached over HTTP: `fetch` takes a path ("/jobs"). */
export interface Target {
  readonly name: string
  readonly fetch: (path: string, init?: RequestInit) => Promise<Response>
  readonly close: () => Promise<void>
  /** Only for the Node server (the web handler builds its own runtime). */
  readonly manager?: JobManager["Type"]
  readonly baseUrl?: string
}

export interface StartOptions {
  readonly stores: Stores | StoreLayer
  readonly jobs: ReadonlyArray<Any<any>>
  readonly http?: HaJobsHttp.HttpOptions
  readonly haJobs?: HaJobs.HaJobsOptions
}

/** The Node server on an ephemeral port (real clock). */
export const startServer = async (options: StartOptions): Promise<Target> => {
  const scope = Effect.runSync(Scope.make())
  const layer = HaJobsHttp.layerServer({ port: 0, host: "127.0.0.1", ...options.http }).pipe(
    Layer.provideMerge(jobsLayer(options.stores, options.jobs, options.haJobs)),
    Layer.provide(testEnv),
  )
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  const address = Context.get(context, HttpServer.HttpServer).address
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  const baseUrl = `http://127.0.0.1:${address.port}`
  return {
    name: "node server",
    baseUrl,
    manager: Context.get(context, JobManager),
    // One connection per request: idle keep-alive sockets would hold the server's close up for seconds.
    fetch: (path, init) => {
      const headers = new Headers(init?.headers)
      headers.set("connection", "close")
      return fetch(baseUrl + path, { redirect: "manual", ...init, headers })
    },
    close: () => Effect.runPromise(Scope.close(scope, Exit.void)),
  }
}

/** The fetch-style web handler, handed `Request`s directly (no socket). */
export const startWebHandler = async (options: StartOptions): Promise<Target> => {
  const { handler, dispose } = HaJobsHttp.toWebHandler(
    jobsLayer(options.stores, options.jobs, options.haJobs).pipe(Layer.provideMerge(testEnv)),
    options.http,
  )
  return {
    name: "web handler",
    fetch: (path, init) => handler(new Request(`http://ha-jobs.test${path}`, init)),
    close: dispose,
  }
}

/** The status, with the body read (an unread body keeps the connection busy and slows close). */
export const statusOf = async (response: Promise<Response>) => {
  const res = await response
  await res.arrayBuffer()
  return res.status
}

export const targets = [
  ["node server", startServer],
  ["web handler", startWebHandler],
] as const

/** Retries `check` until it stops throwing (real time). */
export const eventually = async <A>(check: () => Promise<A>, timeoutMs = 5_000): Promise<A> => {
  const until = Date.now() + timeoutMs
  for (;;) {
    try {
      return await check()
    } catch (e) {
      if (Date.now() > until) throw e
      await new Promise((r) => setTimeout(r, 25))
    }
  }
}

export interface SseEvent {
  readonly event: string
  readonly data: any
}

/** Reads server-sent events from a response; `until` waits for a condition on all events so far. */
export const sseReader = (response: Response) => {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  const events: Array<SseEvent> = []
  let buffer = ""
  const until = async (done: (events: ReadonlyArray<SseEvent>) => boolean, timeoutMs = 5_000) => {
    const deadline = Date.now() + timeoutMs
    while (!done(events)) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no such events within ${timeoutMs} ms: ${JSON.stringify(events)}`)
      let timer: ReturnType<typeof setTimeout> | undefined
      const chunk = await Promise.race([
        reader.read(),
        new Promise<"timeout">((r) => {
          timer = setTimeout(() => r("timeout"), left)
        }),
      ])
      clearTimeout(timer)
      if (chunk === "timeout") continue
      if (chunk.done) throw new Error(`the stream ended: ${JSON.stringify(events)}`)
      buffer += chunk.value
      let i = buffer.indexOf("\n\n")
      while (i >= 0) {
        const block = buffer.slice(0, i)
        buffer = buffer.slice(i + 2)
        const event = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) })
        i = buffer.indexOf("\n\n")
      }
    }
    return events
  }
  return { events, until, close: () => reader.cancel().catch(() => undefined) }
}

/** ha-jobs' status fields, in ha-jobs' order: every status JSON starts with them. */
export const haJobsStatusFields = [
  "triggerId",
  "jobType",
  "jobId",
  "jobState",
  "jobResult",
  "jobStatusTs",
  "content",
  "startTime",
  "duration",
] as const
