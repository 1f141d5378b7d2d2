import { HttpApiBuilder, HttpApp, type HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Clock, Duration, Effect, Option, ParseResult, Schema } from "effect"
import type { BackfillPlan } from "../core/Backfill.js"
import { Expectations } from "../core/Expectations.js"
import { DefaultListLimit, JobManager, MaxListLimit, type PauseChange } from "../core/JobManager.js"
import * as JobParams from "../core/JobParams.js"
import { Membership } from "../core/Membership.js"
import { Scheduler } from "../core/Scheduler.js"
import { InvalidInput, StoreError, UnknownJobType } from "../domain/Errors.js"
import { JobId } from "../domain/Ids.js"
import { groupOf } from "../domain/Names.js"
import type { Pause } from "../domain/Pause.js"
import { CallerIdentity, HaJobsApi } from "./Api.js"
import {
  ExecutionNotFound,
  InvalidParameter,
  JobAlreadyRunning,
  JobPaused,
  JobTypeNotFound,
  StoreUnavailable,
  TriggerFailed,
} from "./ApiErrors.js"
import { type ClusterJson, TriggerRequest } from "./ApiSchemas.js"
import { type IdView, idView } from "./Compat.js"
import { describeCron } from "./CronText.js"
import { HttpSettings } from "./Settings.js"
import {
  toAuditJson,
  toExpectationJson,
  toJobEventJson,
  toPauseJson,
  toStatusJson,
} from "./StatusEncoding.js"
import { makeUrls } from "./Urls.js"

/** How many upcoming cron slots a list shows. */
export const NextRunsShown = 5

type CoreError = UnknownJobType | InvalidInput | StoreError

const isCoreError = (e: unknown): e is CoreError =>
  e instanceof UnknownJobType || e instanceof InvalidInput || e instanceof StoreError

const fromCore = (e: CoreError) => {
  switch (e._tag) {
    case "UnknownJobType":
      return JobTypeNotFound.of(e.jobType)
    case "InvalidInput":
      return new InvalidParameter({ parameter: e.field, message: e.message })
    case "StoreError":
      return storeUnavailable(e.message)
  }
}

type HttpErrorOf<E> = E extends UnknownJobType
  ? JobTypeNotFound
  : E extends InvalidInput
    ? InvalidParameter
    : E extends StoreError
      ? StoreUnavailable
      : E

/** The core's typed errors as HTTP errors (404, 400, 503). */
const toHttpErrors = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, HttpErrorOf<E>, R> =>
  Effect.mapError(effect, (e) => (isCoreError(e) ? fromCore(e) : e) as HttpErrorOf<E>)

const storeUnavailable = (message: string) =>
  new StoreUnavailable({ message: `the store is unavailable: ${message}` })

// A header on whatever response goes out, success or typed error (the 409 carries one too).
const setLocation = (url: string) =>
  HttpApp.appendPreResponseHandler((_, response) =>
    Effect.succeed(HttpServerResponse.setHeader(response, "location", url)),
  )

// The manager checks ids too, but its message is a schema tree: say it plainly. Answers the id as
// decoded (lower case), the form the stores hold; `ids` reads the wire form (compat: version 1).
const checkJobId = (parameter: "jobId" | "before", value: string, ids: IdView) =>
  Option.match(Schema.decodeUnknownOption(JobId)(ids.in(value)), {
    onSome: Effect.succeed,
    onNone: () =>
      Effect.fail(
        new InvalidParameter({
          parameter,
          message: `${parameter} "${value.slice(0, 100)}" is not a job id (a time-ordered, version 7 UUID)`,
        }),
      ),
  })

/** A query parameter given once (or not at all); given several times it is refused, not guessed. */
const single = (parameter: string, value: string | ReadonlyArray<string> | undefined) =>
  typeof value === "string" || value === undefined
    ? Effect.succeed(value)
    : Effect.fail(new InvalidParameter({ parameter, message: `${parameter} given twice; give it once` }))

const parseLimit = (raw: string | undefined) => {
  if (raw === undefined) return Effect.succeed(DefaultListLimit)
  // The manager checks the range; this only refuses what is not a number at all.
  return /^\d{1,9}$/.test(raw) ? Effect.succeed(Number(raw)) : Effect.fail(badLimit(raw))
}

const badLimit = (raw: string) =>
  new InvalidParameter({
    parameter: "limit",
    message: `limit must be an integer between 1 and ${MaxListLimit}, got "${raw.slice(0, 20)}"`,
  })

/** GET /jobs's limit: 1..MaxListLimit, checked here (no manager call checks it for job types). */
const typesLimit = (raw: string) =>
  Effect.filterOrFail(
    parseLimit(raw),
    (n) => n >= 1 && n <= MaxListLimit,
    () => badLimit(raw),
  )

export const layer = HttpApiBuilder.group(HaJobsApi, "jobs", (handlers) =>
  Effect.gen(function* () {
    const manager = yield* JobManager
    const scheduler = yield* Scheduler
    const expectations = yield* Effect.serviceOption(Expectations)
    const membership = yield* Effect.serviceOption(Membership)
    const settings = yield* HttpSettings
    const ids = idView(settings.compat)
    // GET /jobs?all=false (the ha-jobs mode's default): the job types with an execution, as ha-jobs
    // listed its status table's types. A type that has run stays listed; the others are read again
    // (one read each, 8 at once) on each such request.
    const ran = new Set<string>()
    const typesThatRan = Effect.map(
      Effect.forEach(
        manager.jobTypes,
        (t) =>
          ran.has(t)
            ? Effect.succeed(true)
            : Effect.map(
                // Every listed type is registered: an unknown one cannot happen, and has not run.
                Effect.catchTag(manager.latest(t), "UnknownJobType", () => Effect.succeed(Option.none())),
                (latest) => {
                  if (Option.isSome(latest)) ran.add(t)
                  return Option.isSome(latest)
                },
              ),
        { concurrency: 8 },
      ),
      (hasRun) => manager.jobTypes.filter((_, i) => hasRun[i]),
    )
    const allTypes = (raw: string | undefined) =>
      raw === undefined
        ? Effect.succeed(settings.compat !== "ha-jobs")
        : raw === "true" || raw === "false"
          ? Effect.succeed(raw === "true")
          : Effect.fail(
              new InvalidParameter({
                parameter: "all",
                message: `all must be true or false, got "${raw.slice(0, 20)}"`,
              }),
            )
    const urls = makeUrls(settings.basePath, ids)
    // ha-jobs answered 404 for a job id it could not parse: nothing by that id exists.
    const executionId = (jobType: string, value: string) =>
      settings.compat === "ha-jobs"
        ? Effect.catchTag(checkJobId("jobId", value, ids), "InvalidParameter", () => notFound(jobType, value))
        : checkJobId("jobId", value, ids)
    /** The job type's deadline and overruns as last checked (no store read); null when it declares none. */
    const expectationJson = (jobType: string) =>
      Option.match(expectations, {
        onNone: () => Effect.succeed(null),
        onSome: (e) =>
          Effect.map(e.current, (all) => {
            const x = all.find((y) => y.jobType === jobType)
            return x === undefined ? null : toExpectationJson(x)
          }),
      })

    return handlers
      .handle("types", ({ urlParams }) =>
        Effect.gen(function* () {
          const q = yield* single("q", urlParams.q)
          const group = yield* single("group", urlParams.group)
          const rawLimit = yield* single("limit", urlParams.limit)
          const after = yield* single("after", urlParams.after)
          const limit = rawLimit === undefined ? undefined : yield* typesLimit(rawLimit)
          const all = yield* allTypes(yield* single("all", urlParams.all))
          const listed = all ? manager.jobTypes : yield* typesThatRan
          const needle = q?.toLowerCase()
          const found: ReadonlyArray<string> =
            needle === undefined || needle === ""
              ? listed
              : listed.filter((t) => t.toLowerCase().includes(needle))
          const matching = group === undefined ? found : found.filter((t) => groupOf(t) === group)
          const from = after === undefined ? 0 : matching.indexOf(after) + 1
          if (from === 0 && after !== undefined)
            return yield* new InvalidParameter({
              parameter: "after",
              message: `after "${after.slice(0, 100)}" is not a job type of this list; leave it out for the first page`,
            })
          const page = limit === undefined ? matching.slice(from) : matching.slice(from, from + limit)
          const last = page.at(-1)
          return {
            jobTypes: page,
            readOnly: settings.readOnly,
            total: matching.length,
            groups: groupsOf(found),
            next:
              limit !== undefined && last !== undefined && from + limit < matching.length
                ? urls.typesPage({ q, group }, limit, last)
                : null,
          }
        }).pipe(toHttpErrors),
      )
      .handle("trigger", ({ path, request }) =>
        Effect.gen(function* () {
          const body = yield* triggerBody(request)
          const result = yield* manager.trigger(path.jobType, {
            by: yield* CallerIdentity,
            params: body.params,
          })
          switch (result._tag) {
            case "Started":
              yield* setLocation(urls.status(result.jobType, result.jobId))
              return {
                status: "OK" as const,
                jobType: result.jobType,
                jobId: ids.out(result.jobId),
                triggerId: result.triggerId,
              }
            case "Locked":
              // The holder may be another job type sharing the lock: name it, not the requested one.
              yield* setLocation(urls.status(result.jobType, result.jobId))
              return yield* new JobAlreadyRunning({
                message: JobAlreadyRunning.text,
                holderJobType: result.jobType,
                holderJobId: ids.out(result.jobId),
              })
            case "Failed":
              return yield* result.storeUnavailable
                ? storeUnavailable(result.message)
                : new TriggerFailed({ message: `the job did not start: ${result.message}` })
            case "Paused":
              return yield* new JobPaused({
                jobType: path.jobType,
                message: `job type "${path.jobType}" is ${describePause(result.pause)}; manual runs are blocked too: resume it (POST ${urls.resume(path.jobType)}) to run it`,
              })
          }
        }).pipe(toHttpErrors),
      )
      .handle("pause", ({ path, payload: body }) =>
        Effect.gen(function* () {
          const payload = body ?? {}
          const until = yield* parseUntil(payload.until)
          const change = yield* manager.pause(path.jobType, {
            note: payload.note,
            until,
            blockManual: payload.blockManual,
            by: yield* CallerIdentity,
          })
          return pauseState(path.jobType, change)
        }).pipe(toHttpErrors),
      )
      .handle("backfill", ({ path, payload }) =>
        Effect.gen(function* () {
          const from = yield* parseInstant("from", payload.from)
          const to = yield* parseInstant("to", payload.to)
          const plan = yield* manager.backfill(path.jobType, {
            from,
            to,
            dryRun: payload.dryRun,
            by: yield* CallerIdentity,
          })
          return toBackfillJson(plan)
        }).pipe(toHttpErrors),
      )
      .handle("resume", ({ path }) =>
        Effect.gen(function* () {
          const change = yield* manager.resume(path.jobType, { by: yield* CallerIdentity })
          return pauseState(path.jobType, change)
        }).pipe(toHttpErrors),
      )
      .handle("cancel", ({ path }) =>
        Effect.flatMap(CallerIdentity, (by) => manager.cancel(path.jobType, { by })).pipe(
          Effect.as({ status: "OK" as const }),
          toHttpErrors,
        ),
      )
      .handle("list", ({ path, urlParams }) =>
        Effect.gen(function* () {
          const job = yield* manager.job(path.jobType)
          const limit = yield* parseLimit(yield* single("limit", urlParams.limit))
          const cursor = yield* single("before", urlParams.before)
          const before = cursor === undefined ? undefined : yield* checkJobId("before", cursor, ids)
          const jobs = yield* manager.list(job.type, { limit, before })
          const next = yield* nextCursor(
            jobs,
            limit,
            (s) => s.jobId,
            (before) => manager.list(job.type, { limit: 1, before }),
          )
          const newest = before === undefined ? Option.fromNullable(jobs[0]) : yield* manager.latest(job.type)
          const cron = Option.getOrNull(job.cron)
          const nextRuns = yield* scheduler.nextRuns(job, NextRunsShown)
          return {
            jobs: jobs.map((s) => toStatusJson(s, false, settings.compat)),
            cron: cron?.expression ?? null,
            cronDescription: cron ? describeCron(cron.expression) : null,
            timeZone: cron?.timeZone ?? null,
            latest: Option.match(newest, {
              onNone: () => null,
              onSome: (s) => urls.status(s.jobType, s.jobId),
            }),
            next: next === null ? null : urls.page(job.type, limit, next),
            nextRuns: nextRuns.map((d) => d.toISOString()),
            paused: Option.match(yield* manager.paused(job.type), {
              onNone: () => null,
              onSome: toPauseJson,
            }),
            params: Option.getOrNull(JobParams.jsonSchema(job)),
            expectations: yield* expectationJson(job.type),
          }
        }).pipe(toHttpErrors),
      )
      .handle("instances", () =>
        Option.match(membership, {
          onNone: (): Effect.Effect<typeof ClusterJson.Type, StoreError> =>
            Effect.map(Clock.currentTimeMillis, (now) => ({
              now: new Date(now).toISOString(),
              heartbeatEvery: null,
              instances: [],
              locks: [],
            })),
          onSome: (m): Effect.Effect<typeof ClusterJson.Type, StoreError> =>
            Effect.map(m.view, (view) => ({
              now: view.now.toISOString(),
              heartbeatEvery: Duration.format(m.heartbeatEvery),
              instances: view.instances.map((i) => ({
                instance: i.instance,
                startedAt: i.startedAt.toISOString(),
                lastSeen: i.seenAt.toISOString(),
                everyMs: i.everyMs,
                gone: i.gone,
                self: i.self,
              })),
              locks: view.locks.map((l) => ({
                lockType: l.lockType,
                jobType: l.jobType,
                jobId: l.jobId,
                fencingToken: l.token,
                instance: Option.getOrNull(l.instance),
                expiresInMs: l.expiresInMs,
              })),
            })),
        }).pipe(toHttpErrors),
      )
      .handle("audit", ({ urlParams }) =>
        Effect.gen(function* () {
          const jobType = yield* single("jobType", urlParams.jobType)
          const limit = yield* parseLimit(yield* single("limit", urlParams.limit))
          const before = yield* single("before", urlParams.before)
          const entries = yield* manager.auditLog({ jobType, limit, before })
          const next = yield* nextCursor(
            entries,
            limit,
            (e) => e.id,
            (before) => manager.auditLog({ jobType, limit: 1, before }),
          )
          return {
            entries: entries.map(toAuditJson),
            next: next === null ? null : urls.auditPage(jobType, limit, next),
          }
        }).pipe(toHttpErrors),
      )
      .handle("events", ({ path, urlParams }) =>
        Effect.gen(function* () {
          const limit = yield* parseLimit(yield* single("limit", urlParams.limit))
          const before = yield* single("before", urlParams.before)
          const events = yield* manager.events(path.jobType, { limit, before })
          const next = yield* nextCursor(
            events,
            limit,
            (e) => e.id,
            (before) => manager.events(path.jobType, { limit: 1, before }),
          )
          return {
            events: events.map(toJobEventJson),
            next: next === null ? null : urls.eventsPage(path.jobType, limit, next),
          }
        }).pipe(toHttpErrors),
      )
      .handle("latest", ({ path }) =>
        Effect.gen(function* () {
          const latest = yield* manager.latest(path.jobType)
          if (Option.isNone(latest))
            return yield* new ExecutionNotFound({
              jobType: path.jobType,
              message: `job type "${path.jobType}" has no execution yet`,
            })
          return HttpServerResponse.redirect(urls.status(latest.value.jobType, latest.value.jobId), {
            status: 307,
          })
        }).pipe(toHttpErrors),
      )
      .handle("status", ({ path }) =>
        Effect.gen(function* () {
          yield* manager.job(path.jobType)
          const jobId = yield* executionId(path.jobType, path.jobId)
          const status = yield* manager.status(path.jobType, jobId)
          if (Option.isNone(status)) return yield* notFound(path.jobType, jobId)
          return toStatusJson(status.value, true, settings.compat)
        }).pipe(toHttpErrors),
      )
      .handle("history", ({ path, urlParams }) =>
        Effect.gen(function* () {
          yield* manager.job(path.jobType)
          const jobId = yield* executionId(path.jobType, path.jobId)
          const raw = yield* single("limit", urlParams.limit)
          const limit = raw === undefined ? MaxListLimit : yield* parseLimit(raw)
          const before = yield* single("before", urlParams.before)
          const page = yield* manager.history(path.jobType, jobId, { limit, before })
          // A page past the oldest status is empty but the execution exists: only the first is 404.
          if (page.statuses.length === 0 && before === undefined) return yield* notFound(path.jobType, jobId)
          return {
            history: page.statuses.map((s) => toStatusJson(s, true, settings.compat)),
            next: Option.match(page.next, {
              onNone: () => null,
              onSome: (cursor) => urls.historyPage(path.jobType, jobId, limit, cursor),
            }),
          }
        }).pipe(toHttpErrors),
      )
  }),
)

/** The groups of `types` (see groupOf) by name, with how many of them each holds. */
const groupsOf = (types: ReadonlyArray<string>) => {
  const counts = new Map<string, number>()
  for (const t of types) {
    const g = groupOf(t)
    if (g !== undefined) counts.set(g, (counts.get(g) ?? 0) + 1)
  }
  return [...counts]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, count]) => ({ name, count }))
}

/**
 * The cursor of the page after `page` (its last item's), or null when there is none: a full page
 * costs one bounded probe (`probe(cursor)`, one item), so `next` is null on the last page rather
 * than pointing at an empty one.
 */
const nextCursor = <A, E>(
  page: ReadonlyArray<A>,
  limit: number,
  cursorOf: (a: A) => string,
  probe: (cursor: string) => Effect.Effect<ReadonlyArray<unknown>, E>,
): Effect.Effect<string | null, E> => {
  const last = page.at(-1)
  if (last === undefined || page.length < limit) return Effect.succeed(null)
  const cursor = cursorOf(last)
  return Effect.map(probe(cursor), (more) => (more.length > 0 ? cursor : null))
}

/** A trigger's body is small: params are at most JobParams.MaxParamsBytes of JSON. */
const MaxTriggerBodyBytes = 4 * JobParams.MaxParamsBytes

const badBody = (message: string) => new InvalidParameter({ parameter: "body", message })

/** The body of POST /jobs/:jobType: none (or blank) is a run without params, else TriggerRequest. */
const triggerBody = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function* () {
    const text = yield* request.text.pipe(
      Effect.mapError(() => badBody("the request body could not be read; send it again")),
    )
    if (text.trim() === "") return {}
    const bytes = Buffer.byteLength(text, "utf8")
    if (bytes > MaxTriggerBodyBytes)
      return yield* badBody(
        `the request body is ${bytes} bytes, more than ${MaxTriggerBodyBytes}: params are at most ${JobParams.MaxParamsBytes} bytes of JSON`,
      )
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: () => badBody('the request body is not valid JSON: send {"params": {...}}, or no body'),
    })
    return yield* Schema.decodeUnknown(TriggerRequest, { onExcessProperty: "error" })(json).pipe(
      Effect.mapError((e) =>
        badBody(
          `the request body must be {"params": ...} or empty: ${ParseResult.TreeFormatter.formatErrorSync(e)}`,
        ),
      ),
    )
  })

/** What a pause or resume answers. */
const pauseState = (jobType: string, change: PauseChange) => ({
  status: "OK" as const,
  jobType,
  changed: change.changed,
  paused: Option.match(change.current, { onNone: () => null, onSome: toPauseJson }),
})

/** "paused since ... by ...: note", for messages. */
const describePause = (pause: Pause) =>
  `paused since ${pause.since.toISOString()} by ${pause.by}` +
  Option.match(pause.until, { onNone: () => "", onSome: (d) => ` until ${d.toISOString()}` }) +
  (pause.note === "" ? "" : `: ${pause.note}`)

const parseUntil = (raw: string | undefined) =>
  raw === undefined ? Effect.succeed(undefined) : parseInstant("until", raw)

const parseInstant = (parameter: string, raw: string) => {
  const date = new Date(raw)
  return Number.isNaN(date.getTime())
    ? Effect.fail(
        new InvalidParameter({
          parameter,
          message: `${parameter} "${raw.slice(0, 60)}" is not an ISO-8601 instant, e.g. 2030-01-31T09:30:00Z`,
        }),
      )
    : Effect.succeed(date)
}

/** A backfill's plan as JSON. */
const toBackfillJson = (plan: BackfillPlan) => {
  const toRun = plan.slots.filter((s) => s.action === "run").length
  return {
    status: "OK" as const,
    jobType: plan.jobType,
    dryRun: plan.dryRun,
    from: plan.from.toISOString(),
    to: plan.to.toISOString(),
    toRun,
    alreadyClaimed: plan.slots.length - toRun,
    slots: plan.slots.map((s) => ({
      slot: s.slot.toISOString(),
      action: s.action,
      claimedBy: Option.getOrNull(s.claimedBy),
    })),
  }
}

const notFound = (jobType: string, jobId: string) =>
  new ExecutionNotFound({ jobType, jobId, message: `no execution ${jobId} of job type "${jobType}"` })
