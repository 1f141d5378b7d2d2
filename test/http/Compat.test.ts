import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Job from "../../src/core/Job.js"
import { makeJobId, makeTriggerId, timestampOf } from "../../src/domain/Ids.js"
import { JobStatus } from "../../src/domain/JobStatus.js"
import type { JobType, LockType } from "../../src/domain/Names.js"
import { haJobsIds } from "../../src/http/Compat.js"
import { periodInWords } from "../../src/http/StatusEncoding.js"
import { memoryStores } from "../support/harness.js"
import { eventually, type Target, targets } from "../support/httpHarness.js"

/**
 * How ha-jobs' overview page (ha-jobs-play's overview.js) reads a run's start: the job id as a
 * version-1 UUID — time_hi (without its version digit), time_mid and time_low as one hex number of
 * 100 ns ticks since 1582-10-15. Written here from that description, as the page computes it.
 */
const startAsTheOriginalPageReadsIt = (jobId: string): number => {
  const [low, mid, hi] = jobId.split("-")
  const ticks = Number.parseInt(`${hi!.substring(1)}${mid}${low}`, 16)
  return Math.floor((ticks - 122192928000000000) / 10000)
}

describe("ha-jobs ids", () => {
  it("a stored (v7) id shows as a v1 id the original page reads the true start from, and maps back", () => {
    for (let i = 0; i < 200; i++) {
      const id = Effect.runSync(makeJobId)
      const wire = haJobsIds.out(id)
      expect(wire).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(startAsTheOriginalPageReadsIt(wire)).toBe(timestampOf(id))
      expect(haJobsIds.in(wire)).toBe(id)
      expect(haJobsIds.in(wire.toUpperCase())).toBe(id)
      expect(haJobsIds.in(id)).toBe(id) // this library's own ids still open
    }
  })

  it("an id ha-jobs made itself, or no UUID at all, names nothing", () => {
    // A v1 id whose sub-millisecond ticks are ≥ 4096: never one of ours.
    expect(haJobsIds.in("1c9bd97f-3a80-11ef-9a1c-0242ac120002")).toBeUndefined()
    expect(haJobsIds.in("not-a-uuid")).toBeUndefined()
    expect(haJobsIds.in("01890a5d-ac96-474b-bcce-b302099a8057")).toBeUndefined() // version 4
  })

  it("durations as Joda printed them: weeks, months and years", () => {
    const t = Date.UTC(2026, 0, 31, 10, 0, 0)
    expect(periodInWords(t, t)).toBe("0 milliseconds")
    expect(periodInWords(t, t + 9 * 86_400_000)).toBe("1 week and 2 days")
    expect(periodInWords(t, t + 3_723_004)).toBe("1 hour, 2 minutes, 3 seconds and 4 milliseconds")
    // Jan 31 + 1 month is Feb 28 (clamped); to Mar 3 10:00 is 1 month and 3 days.
    expect(periodInWords(t, Date.UTC(2026, 2, 3, 10, 0, 0))).toBe("1 month and 3 days")
    expect(periodInWords(t, Date.UTC(2027, 1, 14, 11, 0, 0))).toBe("1 year, 2 weeks and 1 hour")
  })
})

const quick = Job.make({ type: "quick", run: Effect.void })
const holder = Job.make({ type: "holder", lockType: "shared", run: Effect.never })
const other = Job.make({ type: "other", lockType: "shared", run: Effect.void })
const never = Job.make({ type: "never-run", run: Effect.void })

describe.each(targets)("the ha-jobs mode through the %s", (_, start) => {
  let app: Target
  const stores = Effect.runSync(memoryStores)
  beforeAll(async () => {
    app = await start({ stores, jobs: [quick, holder, other, never], http: { compat: "ha-jobs" } })
  })
  afterAll(() => app.close())
  const location = (res: Response) => new URL(res.headers.get("location")!, "http://x").pathname

  it("the original page: /jobs lists the types that ran, each /latest is 307 to a status whose v1 id holds its true start", async () => {
    expect(await (await app.fetch("/jobs")).json()).toMatchObject({ jobTypes: [] })
    const before = Date.now()
    const triggered = await app.fetch("/jobs/quick", { method: "POST" })
    expect(triggered.status).toBe(201)
    await triggered.arrayBuffer()
    await eventually(async () => {
      expect((await (await app.fetch("/jobs")).json()).jobTypes).toEqual(["quick"])
    })
    // What overview.js does: /jobs, then /latest of every listed type; one 404 would blank the page.
    for (const type of (await (await app.fetch("/jobs")).json()).jobTypes as Array<string>) {
      const latest = await app.fetch(`/jobs/${type}/latest`)
      expect(latest.status, type).toBe(307)
      const status = await (await app.fetch(location(latest))).json()
      const start = startAsTheOriginalPageReadsIt(status.jobId)
      expect(start).toBe(Date.parse(status.startTime))
      expect(start).toBeGreaterThanOrEqual(before)
      expect(start).toBeLessThanOrEqual(Date.now())
    }
    // The new dashboard still sees every registered type.
    expect((await (await app.fetch("/jobs?all=true")).json()).jobTypes).toEqual([
      "quick",
      "holder",
      "other",
      "never-run",
    ])
  })

  // The REST cases of ha-jobs' JobsControllerSpec, and the 404s its controller answers with no body.
  it("POST: 201 with the new execution's Location; 409 with the holder's Location while the lock is held", async () => {
    const started = await app.fetch("/jobs/holder", { method: "POST" })
    expect(started.status).toBe(201)
    const body = await started.json()
    expect(body.status).toBe("OK")
    expect(location(started)).toBe(`/jobs/holder/${body.jobId}`)
    const conflict = await app.fetch("/jobs/other", { method: "POST" })
    expect(conflict.status).toBe(409)
    await conflict.arrayBuffer()
    // The holder's execution, of its own job type (they share the lock).
    expect(location(conflict)).toBe(`/jobs/holder/${body.jobId}`)
    const latest = await app.fetch("/jobs/holder/latest")
    expect(latest.status).toBe(307)
    expect(location(latest)).toBe(`/jobs/holder/${body.jobId}`)
    const status = await app.fetch(location(latest))
    expect(status.status).toBe(200)
    expect(status.headers.get("content-type")).toMatch(/^application\/json/)
    expect(await status.json()).toMatchObject({ jobType: "holder", jobId: body.jobId, jobState: "RUNNING" })
    await (await app.fetch("/jobs/holder", { method: "DELETE" })).arrayBuffer()
  })

  for (const [what, path, method] of [
    ["latest of an unknown job type", "/jobs/notExisting/latest", "GET"],
    ["latest without executions", "/jobs/never-run/latest", "GET"],
    ["POST of an unknown job type", "/jobs/notExisting", "POST"],
    ["a job id that is no UUID", "/jobs/quick/not-a-uuid", "GET"],
    ["a v1 id ha-jobs made itself", "/jobs/quick/1c9bd97f-3a80-11ef-9a1c-0242ac120002", "GET"],
    ["an unknown execution", `/jobs/quick/${haJobsIds.out(Effect.runSync(makeJobId))}`, "GET"],
  ] as const)
    it(`404 with an empty body: ${what}`, async () => {
      const res = await app.fetch(path, { method })
      expect(res.status).toBe(404)
      expect(await res.text()).toBe("")
    })

  it("a run of 9 days reads '1 week and 2 days'", async () => {
    const jobId = Effect.runSync(makeJobId)
    await Effect.runPromise(
      stores.statusRepository.save(
        new JobStatus({
          triggerId: Effect.runSync(makeTriggerId),
          jobType: "never-run" as JobType,
          jobId,
          lockType: "never-run" as LockType,
          jobState: "FINISHED",
          jobResult: "SUCCESS",
          jobStatusTs: new Date(timestampOf(jobId) + 9 * 86_400_000),
          attempt: 1,
          triggerSource: "manual",
          instance: "elsewhere",
        }),
      ),
    )
    const status = await (await app.fetch(`/jobs/never-run/${haJobsIds.out(jobId)}`)).json()
    expect(status.duration).toBe("1 week and 2 days")
  })
})

describe.each(targets)("the default mode through the %s", (_, start) => {
  it("keeps v7 ids, every registered type in /jobs (all=false: those that ran), JSON 404s, days", async () => {
    const app = await start({ stores: Effect.runSync(memoryStores), jobs: [quick, never] })
    try {
      expect((await (await app.fetch("/jobs")).json()).jobTypes).toEqual(["quick", "never-run"])
      expect((await (await app.fetch("/jobs?all=false")).json()).jobTypes).toEqual([])
      const res = await app.fetch("/jobs/quick", { method: "POST" })
      expect((await res.json()).jobId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/)
      const missing = await app.fetch("/jobs/never-run/latest")
      expect(missing.status).toBe(404)
      expect((await missing.json()).message).toContain("no execution")
      expect((await app.fetch("/jobs/quick/not-a-uuid")).status).toBe(400)
      const bad = await app.fetch("/jobs?all=maybe")
      expect(bad.status).toBe(400)
      expect((await bad.json()).message).toContain("all must be true or false")
    } finally {
      await app.close()
    }
  })
})
