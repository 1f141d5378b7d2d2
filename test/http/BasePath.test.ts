import { Effect, Either } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Job from "../../src/core/Job.js"
import { stripBasePath } from "../../src/http/BasePath.js"
import { normalizeBasePath } from "../../src/http/Settings.js"
import { memoryStores } from "../support/harness.js"
import { eventually, statusOf, type Target, targets } from "../support/httpHarness.js"

describe("base path helpers", () => {
  it.each([
    ["", ""],
    ["/", ""],
    ["/ops/ha-jobs/", "/ops/ha-jobs"],
    [" /ops ", "/ops"],
  ])("normalizeBasePath(%j) = %j", (raw, path) => {
    expect(normalizeBasePath(raw)).toEqual(Either.right(path))
  })
  it.each(["ops", "/ops/../x y", "/a//b", "/<script>"])("refuses %j", (raw) => {
    expect(Either.isLeft(normalizeBasePath(raw))).toBe(true)
  })
  it.each([
    ["/ops/jobs?limit=1", "/jobs?limit=1"],
    ["/ops", "/"],
    ["/ops?x=1", "/?x=1"],
    ["/opsy/jobs", undefined],
    ["/jobs", undefined],
  ])("stripBasePath(/ops, %j) = %j", (url, stripped) => {
    expect(stripBasePath("/ops", url)).toBe(stripped)
  })
})

const jobs = [Job.make({ type: "quick", cron: "0 0 2 * * ?", run: Effect.void })]

describe.each(targets)("mounted at /ops/ha-jobs, through the %s", (_, start) => {
  let app: Target
  beforeAll(async () => {
    app = await start({ stores: Effect.runSync(memoryStores), jobs, http: { basePath: "/ops/ha-jobs" } })
  })
  afterAll(() => app.close())

  it("serves every route under the base path, and every URL it writes carries it", async () => {
    const created = await app.fetch("/ops/ha-jobs/jobs/quick", { method: "POST" })
    expect(created.status).toBe(201)
    const { jobId } = await created.json()
    const location = `/ops/ha-jobs/jobs/quick/${jobId}`
    expect(created.headers.get("location")).toBe(location)
    await eventually(async () => {
      const res = await app.fetch(location)
      expect((await res.json()).jobState).toBe("FINISHED")
    })
    const list = await (await app.fetch("/ops/ha-jobs/jobs/quick?limit=1")).json()
    expect(list.latest).toBe(location)
    const latest = await app.fetch("/ops/ha-jobs/jobs/quick/latest")
    expect(latest.status).toBe(307)
    expect(latest.headers.get("location")).toBe(location)
    await latest.arrayBuffer()

    for (const path of [
      "/ops/ha-jobs/jobsOverview",
      "/ops/ha-jobs/docs",
      "/ops/ha-jobs/health",
      "/ops/ha-jobs/metrics",
    ])
      expect(await statusOf(app.fetch(path)), path).toBe(200)
    const root = await app.fetch("/ops/ha-jobs/")
    expect(root.status).toBe(307)
    expect(root.headers.get("location")).toBe("/ops/ha-jobs/jobsOverview")
    await root.arrayBuffer()
    const spec = await (await app.fetch("/ops/ha-jobs/openapi.json")).json()
    expect(spec.servers).toEqual([{ url: "/ops/ha-jobs" }])
  })

  it("also answers behind a proxy that strips the prefix, still writing prefixed URLs", async () => {
    const created = await app.fetch("/jobs/quick", { method: "POST" })
    expect(created.status).toBe(201)
    expect(created.headers.get("location")).toMatch(/^\/ops\/ha-jobs\/jobs\/quick\//)
    await created.arrayBuffer()
  })
})
