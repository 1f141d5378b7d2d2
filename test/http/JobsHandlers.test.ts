import { Effect, Option, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Job from "../../src/core/Job.js"
import * as JobParams from "../../src/core/JobParams.js"
import { makeEventId, timestampOf } from "../../src/domain/Ids.js"
import { JobEvent } from "../../src/domain/JobEvent.js"
import type { JobType } from "../../src/domain/Names.js"
import { memoryStores } from "../support/harness.js"
import {
  eventually,
  haJobsStatusFields,
  sseReader,
  statusOf,
  type Target,
  targets,
} from "../support/httpHarness.js"

// Two job types sharing lock "products" (ha-jobs' shared lock types), a quick one, an idle one.
const jobs = [
  Job.make({ type: "import-products", lockType: "products", cron: "0 0 2 * * ?", run: Effect.never }),
  Job.make({ type: "export-products", lockType: "products", run: Effect.never }),
  Job.make({ type: "quick", run: Effect.succeed({ imported: 3, note: "done" }) }),
  Job.make({ type: "idle", run: Effect.void }),
  Job.make({ type: "nightly", cron: "0 0 3 * * ?", run: Effect.void }),
  // Takes params: its content is what it was given, decoded (a Date back to ISO text).
  Job.make({
    type: "report",
    params: Schema.Struct({ day: Schema.Date, format: Schema.Literal("csv", "pdf") }),
    run: Effect.map(JobParams.get(Schema.Struct({ day: Schema.Date })), (p) => ({
      day: Option.getOrThrow(p).day.toISOString(),
    })),
  }),
]

const validId = "01890a5d-ac96-774b-bcce-b302099a8057"
const jobIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/

describe.each(targets)("HTTP API through the %s", (_, start) => {
  let app: Target
  const json = async (path: string, init?: RequestInit) => {
    const res = await app.fetch(path, init)
    return { res, body: (await res.json()) as any }
  }
  const finished = (path: string) =>
    eventually(async () => {
      const { body } = await json(path)
      expect(body.jobResult).not.toBe("PENDING")
      return body
    })

  const stores = Effect.runSync(memoryStores)
  beforeAll(async () => {
    app = await start({ stores, jobs, http: { eventsInterval: "50 millis" } })
  })
  afterAll(() => app.close())

  it("GET /jobs lists every registered job type", async () => {
    const { res, body } = await json("/jobs")
    expect(res.status).toBe(200)
    expect(body).toEqual({
      jobTypes: ["import-products", "export-products", "quick", "idle", "nightly", "report"],
      readOnly: false,
      total: 6,
      groups: [],
      next: null,
    })
  })

  it("GET /jobs groups job types by their name's prefix (group=, groups) and pages within a group", async () => {
    const grouped = ["billing.invoices", "crm.sync", "billing.dunning", "adhoc", "crm.export", "billing.tax"]
    const other = await start({
      stores: Effect.runSync(memoryStores),
      jobs: grouped.map((type) => Job.make({ type, run: Effect.void })),
    })
    try {
      const get = async (path: string) => (await other.fetch(path)).json() as Promise<any>
      expect(await get("/jobs")).toMatchObject({
        total: 6,
        groups: [
          { name: "billing", count: 3 },
          { name: "crm", count: 2 },
        ],
      })
      const first = await get("/jobs?group=billing&limit=2")
      expect(first).toMatchObject({
        jobTypes: ["billing.invoices", "billing.dunning"],
        total: 3,
        next: "/jobs?group=billing&limit=2&after=billing.dunning",
      })
      expect(await get(first.next)).toMatchObject({ jobTypes: ["billing.tax"], next: null })
      // The groups are those of the search's matches; the group narrows the search's matches.
      expect(await get("/jobs?q=o&group=crm")).toMatchObject({
        jobTypes: ["crm.export"],
        total: 1,
        groups: [
          { name: "billing", count: 1 },
          { name: "crm", count: 1 },
        ],
      })
      expect(await get("/jobs?group=nothing")).toMatchObject({ jobTypes: [], total: 0 })
    } finally {
      await other.close()
    }
  })

  it("GET /jobs pages (limit, then next) and filters (q, case-insensitive) the job types", async () => {
    const first = await json("/jobs?limit=4")
    expect(first.body).toMatchObject({
      jobTypes: ["import-products", "export-products", "quick", "idle"],
      total: 6,
      next: "/jobs?limit=4&after=idle",
    })
    const second = await json(first.body.next)
    expect(second.body).toMatchObject({ jobTypes: ["nightly", "report"], total: 6, next: null })
    const found = await json("/jobs?q=PRODUCTS&limit=1")
    expect(found.body).toMatchObject({
      jobTypes: ["import-products"],
      total: 2,
      next: "/jobs?q=PRODUCTS&limit=1&after=import-products",
    })
    expect((await json(found.body.next)).body).toMatchObject({ jobTypes: ["export-products"], next: null })
    expect((await json("/jobs?q=nothing-like-it")).body).toMatchObject({ jobTypes: [], total: 0, next: null })
    for (const [query, parameter] of [
      ["limit=0", "limit"],
      ["limit=1001", "limit"],
      ["limit=many", "limit"],
      ["after=no-such-type", "after"],
      ["q=products&after=quick", "after"],
      ["q=a&q=b", "q"],
    ] as const) {
      const { res, body } = await json(`/jobs?${query}`)
      expect(res.status, query).toBe(400)
      expect(body.message, query).toContain(parameter)
    }
  })

  it("POST answers 201 with the new execution's Location; its status JSON has ha-jobs' fields", async () => {
    const { res, body } = await json("/jobs/quick", { method: "POST" })
    expect(res.status).toBe(201)
    expect(body.status).toBe("OK")
    expect(body.jobId).toMatch(jobIdPattern)
    const location = res.headers.get("location")
    expect(location).toBe(`/jobs/quick/${body.jobId}`)
    const status = await finished(location!)
    expect(Object.keys(status).slice(0, haJobsStatusFields.length)).toEqual([...haJobsStatusFields])
    expect(status).toMatchObject({
      triggerId: body.triggerId,
      jobType: "quick",
      jobId: body.jobId,
      jobState: "FINISHED",
      jobResult: "SUCCESS",
      content: { imported: 3, note: "done" },
      lockType: "quick",
      fencingToken: expect.any(Number),
      attempt: 1,
      triggerSource: "manual",
      instance: "test",
    })
    expect(status.jobStatusTs).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(status.startTime).toBe(new Date(timestampOf(body.jobId)).toISOString())
    expect(status.duration).toMatch(/^\d+ milliseconds?$|second/)
    const history = await json(`${location}/history`)
    expect(history.res.status).toBe(200)
    expect(history.body.history.map((s: any) => s.jobState)).toEqual(["FINISHED", "RUNNING"])
    expect(history.body.next).toBeNull()
    // Paged: `next` is the URL of the older page, which ends the history.
    const first = await json(`${location}/history?limit=1`)
    expect(first.body.history.map((s: any) => s.jobState)).toEqual(["FINISHED"])
    expect(first.body.next).toMatch(new RegExp(`^${location}/history\\?limit=1&before=`))
    const second = await json(first.body.next)
    expect(second.body.history.map((s: any) => s.jobState)).toEqual(["RUNNING"])
    expect(second.body.next).toBeNull()
    for (const query of ["before=nope", "limit=0", `before=${validId}`]) {
      const bad = await json(`${location}/history?${query}`)
      expect(bad.res.status, query).toBe(400)
      expect(bad.body.message, query).toMatch(/history cursor|between 1 and 1000|not made by this store/)
    }
  })

  it("409 names the holder's own job type when two job types share a lock; DELETE cancels it", async () => {
    const started = await json("/jobs/import-products", { method: "POST" })
    expect(started.res.status).toBe(201)
    const holder = `/jobs/import-products/${started.body.jobId}`

    const again = await json("/jobs/import-products", { method: "POST" })
    expect(again.res.status).toBe(409)
    expect(again.res.headers.get("location")).toBe(holder)

    const other = await json("/jobs/export-products", { method: "POST" })
    expect(other.res.status).toBe(409)
    expect(other.body).toMatchObject({ status: "KO", message: "The job's already running" })
    expect(other.body.holderJobType).toBe("import-products")
    expect(other.res.headers.get("location")).toBe(holder)

    // GET /instances: this instance, alive, and the lock it holds for the execution, with time left.
    const cluster = await json("/instances")
    expect(cluster.res.status).toBe(200)
    expect(cluster.body.instances).toEqual([
      expect.objectContaining({ instance: "test", gone: false, self: true, everyMs: 10_000 }),
    ])
    expect(cluster.body.locks).toEqual([
      expect.objectContaining({
        lockType: "products",
        jobType: "import-products",
        jobId: started.body.jobId,
        instance: "test",
      }),
    ])
    expect(cluster.body.locks[0].expiresInMs).toBeGreaterThan(0)
    expect(cluster.body.heartbeatEvery).toBe("10s")

    const cancelled = await json("/jobs/import-products", { method: "DELETE" })
    expect(cancelled.res.status).toBe(200)
    expect(cancelled.body).toEqual({ status: "OK" })
    const final = await finished(holder)
    expect(final.jobState).toBe("CANCELED")
    // DELETE with nothing running is still 200, as in ha-jobs.
    expect(await statusOf(app.fetch("/jobs/export-products", { method: "DELETE" }))).toBe(200)
  })

  it("lists newest first without content, with cron, latest, next page and next fire times", async () => {
    const ids: Array<string> = []
    for (let i = 0; i < 3; i++) {
      const { body } = await json("/jobs/idle", { method: "POST" })
      ids.push(body.jobId)
      await finished(`/jobs/idle/${body.jobId}`)
    }
    const page1 = await json("/jobs/idle?limit=2")
    expect(page1.res.status).toBe(200)
    expect(page1.body.jobs.map((j: any) => j.jobId)).toEqual([ids[2], ids[1]])
    expect(page1.body.jobs[0]).not.toHaveProperty("content")
    expect(page1.body).toMatchObject({
      cron: null,
      cronDescription: null,
      timeZone: null,
      nextRuns: [],
      expectations: null, // it declares no expect or maxDuration
      latest: `/jobs/idle/${ids[2]}`,
      next: `/jobs/idle?limit=2&before=${ids[1]}`,
    })
    const page2 = await json(page1.body.next)
    expect(page2.body.jobs.map((j: any) => j.jobId)).toEqual([ids[0]])
    expect(page2.body.next).toBeNull()
    expect(page2.body.latest).toBe(`/jobs/idle/${ids[2]}`)

    const scheduled = await json("/jobs/import-products")
    expect(scheduled.body).toMatchObject({
      cron: "0 0 2 * * ?",
      cronDescription: "At 02:00",
      timeZone: "UTC",
    })
    expect(scheduled.body.nextRuns).toHaveLength(5)
    for (const run of scheduled.body.nextRuns) expect(run).toMatch(/T02:00:00\.000Z$/)
  })

  it("latest redirects (307) to the newest execution; 404 with a message when there is none", async () => {
    const { body } = await json("/jobs/quick", { method: "POST" })
    await finished(`/jobs/quick/${body.jobId}`)
    const res = await app.fetch("/jobs/quick/latest")
    expect(res.status).toBe(307)
    expect(res.headers.get("location")).toBe(`/jobs/quick/${body.jobId}`)
    await res.arrayBuffer()

    const none = await json("/jobs/export-products/latest")
    expect(none.res.status).toBe(404)
    expect(none.body).toMatchObject({ status: "KO", message: expect.stringContaining("no execution") })
  })

  it("unknown execution -> 404, malformed job id -> 400, each with a JSON message", async () => {
    for (const path of [`/jobs/quick/${validId}`, `/jobs/quick/${validId}/history`]) {
      const { res, body } = await json(path)
      expect(res.status, path).toBe(404)
      expect(body).toMatchObject({ status: "KO", _tag: "ExecutionNotFound" })
    }
    for (const path of [
      "/jobs/quick/not-a-uuid",
      "/jobs/quick/not-a-uuid/history",
      "/jobs/quick?before=nope",
    ]) {
      const { res, body } = await json(path)
      expect(res.status, path).toBe(400)
      expect(body).toMatchObject({ status: "KO", _tag: "InvalidParameter" })
      expect(body.message).toContain("is not a job id")
    }
  })

  it.each(["0", "1001", "-1", "abc", "1.5", ""])("limit=%s -> 400", async (limit) => {
    const { res, body } = await json(`/jobs/quick?limit=${limit}`)
    expect(res.status).toBe(400)
    expect(body).toMatchObject({ status: "KO", parameter: "limit" })
    expect(body.message).toContain("between 1 and 1000")
  })

  it("an unknown job type is 404 on every route, DELETE included", async () => {
    const routes: Array<[string, string]> = [
      ["GET", "/jobs/nope"],
      ["POST", "/jobs/nope"],
      ["DELETE", "/jobs/nope"],
      ["GET", "/jobs/nope/latest"],
      ["GET", `/jobs/nope/${validId}`],
      ["GET", `/jobs/nope/${validId}/history`],
      ["GET", "/jobs/nope/not-a-uuid"],
      ["GET", "/jobs/nope?limit=0"],
      ["POST", "/jobs/nope/pause"],
      ["POST", "/jobs/nope/resume"],
      ["POST", "/jobs/nope/backfill"],
    ]
    for (const [method, path] of routes) {
      const { res, body } = await json(
        path,
        method === "POST" && path.endsWith("/pause")
          ? { method, body: "{}", headers: { "content-type": "application/json" } }
          : method === "POST" && path.endsWith("/backfill")
            ? {
                method,
                body: JSON.stringify({ from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" }),
                headers: { "content-type": "application/json" },
              }
            : { method },
      )
      expect(res.status, `${method} ${path}`).toBe(404)
      expect(body).toEqual({
        status: "KO",
        message: 'unknown job type "nope"',
        jobType: "nope",
        _tag: "JobTypeNotFound",
      })
    }
  })

  it("POST with {params}: checked, given to the job, shown in its statuses; bad bodies answer 400 naming the field", async () => {
    const post = (path: string, body: string) =>
      json(path, { method: "POST", body, headers: { "content-type": "application/json" } })
    const { res, body } = await post(
      "/jobs/report",
      JSON.stringify({ params: { day: "2026-11-01", format: "csv" } }),
    )
    expect(res.status).toBe(201)
    const status = await finished(res.headers.get("location")!)
    expect(status.content).toEqual({ day: "2026-11-01T00:00:00.000Z" })
    expect(status.params).toEqual({ day: "2026-11-01T00:00:00.000Z", format: "csv" })
    expect(status.triggerId).toBe(body.triggerId)
    // The job list offers the params' JSON Schema (the dashboard's editor); null for a job without.
    expect((await json("/jobs/report")).body.params.properties.format).toEqual({
      type: "string",
      enum: ["csv", "pdf"],
    })
    expect((await json("/jobs/quick")).body.params).toBeNull()

    const bad = async (path: string, text: string, parameter: string, words: string) => {
      const { res, body } = await post(path, text)
      expect(res.status, text).toBe(400)
      expect(body).toMatchObject({ status: "KO", _tag: "InvalidParameter", parameter })
      expect(body.message).toContain(words)
    }
    await bad(
      "/jobs/report",
      JSON.stringify({ params: { day: "2026-11-01", format: "xls" } }),
      "params",
      "format",
    )
    await bad(
      "/jobs/quick",
      JSON.stringify({ params: { a: 1 } }),
      "params",
      'job type "quick" takes no params',
    )
    await bad("/jobs/report", "{not json", "body", "not valid JSON")
    await bad("/jobs/report", JSON.stringify({ parms: {} }), "body", "parms")
    await bad(
      "/jobs/report",
      JSON.stringify({ params: { day: "2026-11-01", format: "csv", x: "y".repeat(40_000) } }),
      "body",
      "bytes",
    )
    // A job with params may still run without: no body, or an empty object.
    expect((await json("/jobs/idle", { method: "POST" })).res.status).toBe(201)
    expect((await post("/jobs/idle", "{}")).res.status).toBe(201)
  })

  it("backfill: a dry run lists the slots, a run runs each once as a backfill slot; bad ranges 400 naming the field", async () => {
    const post = (body: unknown) =>
      json("/jobs/nightly/backfill", {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json" },
      })
    const range = { from: "2026-01-01T00:00:00Z", to: "2026-01-03T23:59:59Z" }
    const dry = await post({ ...range, dryRun: true })
    expect(dry.res.status).toBe(200)
    expect(dry.body).toMatchObject({
      status: "OK",
      jobType: "nightly",
      dryRun: true,
      toRun: 3,
      alreadyClaimed: 0,
    })
    expect(dry.body.slots).toEqual(
      ["01", "02", "03"].map((d) => ({ slot: `2026-01-${d}T03:00:00.000Z`, action: "run", claimedBy: null })),
    )
    const run = await post(range)
    expect(run.res.status).toBe(200)
    expect(run.body.dryRun).toBe(false)
    const ran = await eventually(async () => {
      const { body } = await json("/jobs/nightly?limit=10")
      const done = body.jobs.filter((j: any) => j.triggerSource === "backfill" && j.jobState === "FINISHED")
      expect(done).toHaveLength(3)
      return done
    })
    expect(ran.map((j: any) => j.scheduledAt).sort()).toEqual(dry.body.slots.map((s: any) => s.slot))
    const again = await post({ ...range, dryRun: true })
    expect(again.body).toMatchObject({ toRun: 0, alreadyClaimed: 3 })
    expect(again.body.slots[0].claimedBy).toBe("test")
    const audit = (await json("/audit?jobType=nightly&limit=10")).body.entries
    expect(audit.map((e: any) => e.action)).toContain("backfill")
    expect(audit.map((e: any) => e.outcome)).toContain("finished: ran 3, skipped 0")

    const bad = async (body: unknown, parameter: string, words: string) => {
      const { res, body: answer } = await post(body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(answer).toMatchObject({ status: "KO", _tag: "InvalidParameter", parameter })
      expect(answer.message).toContain(words)
    }
    await bad({ from: range.to, to: range.from }, "from", "is after to")
    await bad({ from: range.from, to: "2999-01-01T00:00:00Z" }, "to", "in the future")
    await bad({ from: "yesterday", to: range.to }, "from", "not an ISO-8601 instant")
    await bad({ from: "2000-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z" }, "to", "more than 1000 slots")
    await bad({ to: range.to }, "from", "from")
    await bad({ from: range.from, to: range.to, dryRun: "yes" }, "dryRun", "dryRun")
    const manual = await json("/jobs/quick/backfill", {
      method: "POST",
      body: JSON.stringify(range),
      headers: { "content-type": "application/json" },
    })
    expect(manual.res.status).toBe(400)
    expect(manual.body.message).toContain("has no cron expression")
  })

  it("pause with a note: shown on the job, cron and retries stop, manual runs go on unless blocked; resume", async () => {
    const post = (path: string, body?: unknown) =>
      json(path, {
        method: "POST",
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
      })
    const paused = await post("/jobs/idle/pause", { note: "incident 42" })
    expect(paused.res.status).toBe(200)
    expect(paused.body).toMatchObject({
      status: "OK",
      jobType: "idle",
      changed: true,
      paused: { note: "incident 42", by: "anonymous", instance: "test", until: null, blockManual: false },
    })
    expect((await json("/jobs/idle")).body.paused).toMatchObject({ note: "incident 42" })
    expect((await post("/jobs/idle/pause", { note: "incident 42" })).body.changed).toBe(false)
    expect((await post("/jobs/idle")).res.status).toBe(201)

    await post("/jobs/idle/pause", { note: "do not touch", blockManual: true })
    const refused = await post("/jobs/idle")
    expect(refused.res.status).toBe(409)
    expect(refused.body._tag).toBe("JobPaused")
    expect(refused.body.message).toContain("do not touch")
    expect(refused.body.message).toContain("POST /jobs/idle/resume")

    const resumed = await post("/jobs/idle/resume")
    expect(resumed.res.status).toBe(200)
    expect(resumed.body).toEqual({ status: "OK", jobType: "idle", changed: true, paused: null })
    expect((await post("/jobs/idle/resume")).body.changed).toBe(false)
    expect((await json("/jobs/idle")).body.paused).toBeNull()
    expect((await post("/jobs/idle")).res.status).toBe(201)
    // An empty object: a pause without a note.
    expect((await post("/jobs/idle/pause", {})).body.paused).toMatchObject({ note: "" })
    await post("/jobs/idle/resume")
  })

  it("pause: bad input is 400 naming the field, and pauses nothing", async () => {
    const cases: Array<[string, string]> = [
      [JSON.stringify({ until: "tomorrow" }), "until"],
      [JSON.stringify({ until: "2001-01-01T00:00:00Z" }), "until"],
      [JSON.stringify({ note: "x".repeat(1025) }), "note"],
      [JSON.stringify({ blockManual: "yes" }), "blockManual"],
      [JSON.stringify([1]), "JSON object"],
      ["{not json", "not valid JSON"],
    ]
    for (const [body, field] of cases) {
      const { res, body: answer } = await json("/jobs/idle/pause", {
        method: "POST",
        body,
        headers: { "content-type": "application/json" },
      })
      expect(res.status, body).toBe(400)
      expect(answer.status, body).toBe("KO")
      expect(answer.message, body).toContain(field)
      expect(answer._tag, body).toBe("InvalidParameter")
    }
    expect((await json("/jobs/idle")).body.paused).toBeNull()
  })

  it("serves the OpenAPI document, an offline docs page and the dashboard", async () => {
    const spec = await json("/openapi.json")
    expect(spec.res.status).toBe(200)
    expect(spec.body.openapi).toMatch(/^3\./)
    expect(Object.keys(spec.body.paths)).toEqual(
      expect.arrayContaining([
        "/jobs",
        "/jobs/{jobType}",
        "/jobs/{jobType}/latest",
        "/jobs/{jobType}/{jobId}/history",
        "/jobs/{jobType}/pause",
        "/jobs/{jobType}/resume",
        "/jobs/{jobType}/backfill",
        "/audit",
      ]),
    )
    expect(spec.body.paths["/jobs/{jobType}/pause"].post.requestBody).toBeDefined()
    expect(spec.body.paths["/jobs/{jobType}/backfill"].post.requestBody.required).toBe(true)
    // The trigger's optional body, documented by hand (the handler reads it): {params}.
    const triggerBody = spec.body.paths["/jobs/{jobType}"].post.requestBody
    expect(triggerBody.required).toBe(false)
    expect(triggerBody.content["application/json"].schema.properties).toHaveProperty("params")
    expect(spec.body.paths["/jobs/{jobType}"].post.responses).toHaveProperty("400")
    expect(spec.body.paths["/jobs/{jobType}"].post.responses).toHaveProperty("409")
    expect(spec.body.paths["/jobs/{jobType}"].post.responses).toHaveProperty("503")
    expect(spec.body.components.securitySchemes).toHaveProperty("bearer")

    for (const path of ["/docs", "/jobsOverview"]) {
      const res = await app.fetch(path)
      expect(res.status, path).toBe(200)
      expect(res.headers.get("content-type")).toContain("text/html")
      const html = await res.text()
      expect(html, `${path} loads nothing from elsewhere`).not.toMatch(
        /<(script|link)[^>]+(src|href)=["']?(https?:)?\/\//i,
      )
    }
    const dashboard = await app.fetch("/jobsOverview")
    expect(dashboard.headers.get("content-security-policy")).toMatch(/script-src 'sha256-/)
    await dashboard.arrayBuffer()
    const root = await app.fetch("/")
    expect(root.status).toBe(307)
    expect(root.headers.get("location")).toBe("/jobsOverview")
    await root.arrayBuffer()
  })

  it("GET /health: 200 when the store answers and the scheduler runs", async () => {
    const { res, body } = await json("/health")
    expect(res.status).toBe(200)
    expect(body).toEqual({
      status: "UP",
      // Stores built without a store layer (makeMemoryStores here) have no name of their own.
      store: { status: "UP", name: "the store" },
      scheduler: { status: "running" },
      instance: "test",
      // No job here declares `expect` or `maxDuration`: nothing overdue or overrunning.
      expectations: { overdue: [], overrunning: [] },
    })
  })

  it("GET /metrics: Prometheus text including the library's metrics", async () => {
    const { body } = await json("/jobs/quick", { method: "POST" })
    await finished(`/jobs/quick/${body.jobId}`)
    const res = await app.fetch("/metrics")
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toContain("text/plain")
    const text = await res.text()
    expect(text).toContain("# TYPE ha_jobs_executions_total counter")
    expect(text).toMatch(/^ha_jobs_executions_total\{job_type="quick",state="FINISHED"\} \d+$/m)
  })

  it("GET /events streams the latest status per job type, then changes", async () => {
    const res = await app.fetch("/events")
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toContain("text/event-stream")
    const sse = sseReader(res)
    try {
      const initial = await sse.until((es) => es.filter((e) => e.event === "status").length >= 6)
      expect(new Set(initial.map((e) => e.data.jobType))).toEqual(
        new Set(["import-products", "export-products", "quick", "idle", "nightly", "report"]),
      )
      const { body } = await json("/jobs/export-products", { method: "POST" })
      await sse.until((es) => es.some((e) => e.data.latest?.jobId === body.jobId))
      await statusOf(app.fetch("/jobs/export-products", { method: "DELETE" }))
      const all = await sse.until((es) =>
        es.some((e) => e.data.latest?.jobId === body.jobId && e.data.latest.jobState === "CANCELED"),
      )
      expect(all.find((e) => e.data.latest?.jobId === body.jobId)?.data.latest).not.toHaveProperty("content")
      // Each operator action since the stream opened comes as an audit frame (the pause as well,
      // which changes no execution).
      await json("/jobs/idle/pause", {
        method: "POST",
        body: JSON.stringify({ note: "sse" }),
        headers: { "content-type": "application/json" },
      })
      const audited = await sse.until((es) =>
        es.some((e) => e.event === "audit" && e.data.action === "pause"),
      )
      expect(audited.filter((e) => e.event === "audit").map((e) => e.data.action)).toEqual([
        "trigger",
        "cancel",
        "pause",
      ])
      expect(audited.find((e) => e.event === "audit" && e.data.action === "pause")?.data).toMatchObject({
        jobType: "idle",
        identity: "anonymous",
        detail: JSON.stringify({ note: "sse", until: null, blockManual: false }),
        outcome: "paused",
      })
      await json("/jobs/idle/resume", { method: "POST" })
    } finally {
      await sse.close()
    }
  })

  it("GET /audit: operator actions newest first, paged with next, per job type; bad parameters 400, unknown type 404", async () => {
    for (let i = 0; i < 3; i++) await json("/jobs/quick", { method: "POST" })
    await json("/jobs/import-products", { method: "DELETE" })
    const first = await json("/audit?limit=2")
    expect(first.res.status).toBe(200)
    expect(first.body.entries).toHaveLength(2)
    expect(first.body.entries[0]).toMatchObject({
      action: "cancel",
      jobType: "import-products",
      identity: "anonymous",
      instance: "test",
    })
    expect(first.body.entries[1]).toMatchObject({
      action: "trigger",
      jobType: "quick",
      outcome: expect.stringMatching(/^started /),
    })
    expect(first.body.next).toBe(`/audit?limit=2&before=${first.body.entries[1].id}`)
    const second = await json(first.body.next)
    expect(second.body.entries[0].id < first.body.entries[1].id).toBe(true)
    const quick = await json("/audit?jobType=quick&limit=1000")
    expect(quick.body.entries.length).toBeGreaterThanOrEqual(3)
    expect(new Set(quick.body.entries.map((e: any) => e.jobType))).toEqual(new Set(["quick"]))
    expect(quick.body.next).toBeNull()
    expect((await json("/audit?jobType=nope")).res.status).toBe(404)
    for (const bad of ["/audit?limit=0", "/audit?before=not-an-id", "/audit?limit=1&limit=2"])
      expect((await json(bad)).res.status, bad).toBe(400)
  })
  it("GET /jobs/:jobType/events: decisions newest first, paged with next; bad cursor 400, unknown type 404", async () => {
    const record = (kind: JobEvent["kind"], count: number, at: number) =>
      Effect.runPromise(
        Effect.flatMap(makeEventId, (id) =>
          stores.statusRepository.recordEvent(
            new JobEvent({
              id,
              at: new Date(at),
              jobType: "nightly" as JobType,
              kind,
              instance: "test",
              reason: `${kind} reason`,
              count,
              from: new Date(at - 5_000),
              to: new Date(at),
            }),
          ),
        ),
      )
    await record("misfire", 1, 1_000)
    await record("slot-missed", 12, 2_000)
    await record("catch-up-run", 1, 3_000)
    const first = await json("/jobs/nightly/events?limit=2")
    expect(first.res.status).toBe(200)
    expect(first.body.events.map((e: any) => e.kind)).toEqual(["catch-up-run", "slot-missed"])
    expect(first.body.events[1]).toMatchObject({
      jobType: "nightly",
      instance: "test",
      reason: "slot-missed reason",
      count: 12,
      from: new Date(-3_000).toISOString(),
      to: new Date(2_000).toISOString(),
    })
    expect(first.body.next).toBe(`/jobs/nightly/events?limit=2&before=${first.body.events[1].id}`)
    const second = await json(first.body.next)
    expect(second.body.events.map((e: any) => e.kind)).toEqual(["misfire"])
    expect(second.body.next).toBeNull()
    expect((await json("/jobs/quick/events")).body).toEqual({ events: [], next: null })
    expect((await json("/jobs/nope/events")).res.status).toBe(404)
    for (const bad of ["/jobs/nightly/events?before=not-an-id", "/jobs/nightly/events?limit=0"])
      expect((await json(bad)).res.status, bad).toBe(400)
  })
})
