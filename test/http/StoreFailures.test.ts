import { Effect, Ref } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import * as Job from "../../src/core/Job.js"
import { makeSwitchableStores, sseReader, statusOf, type Target, targets } from "../support/httpHarness.js"

const jobs = [
  Job.make({ type: "import", run: Effect.succeed({ ok: true }) }),
  Job.make({ type: "report", run: Effect.never }),
]

describe.each(targets)("an unreachable store through the %s", (_, start) => {
  let app: Target | undefined
  afterEach(() => app?.close())

  it("answers 503 with a KO message on every route that needs the store; /health says why", async () => {
    const { stores, down } = Effect.runSync(makeSwitchableStores)
    app = await start({ stores, jobs, http: { eventsInterval: "50 millis" } })
    const started = await app.fetch("/jobs/import", { method: "POST" })
    expect(started.status).toBe(201)
    await started.json()
    const location = started.headers.get("location")!
    const events = sseReader(await app.fetch("/events"))
    await events.until((es) => es.filter((e) => e.event === "status").length >= 2)

    Effect.runSync(Ref.set(down, true))
    const routes: Array<[string, string]> = [
      ["POST", "/jobs/report"],
      ["DELETE", "/jobs/report"],
      ["GET", "/jobs/import"],
      ["GET", "/jobs/import/latest"],
      ["GET", location],
      ["GET", `${location}/history`],
    ]
    for (const [method, path] of routes) {
      const res = await app.fetch(path, { method })
      expect(res.status, `${method} ${path}`).toBe(503)
      const body = await res.json()
      expect(body).toMatchObject({ status: "KO", _tag: "StoreUnavailable" })
      expect(body.message).toContain("connection refused (injected)")
    }
    // Nothing of this needs the store.
    expect(await statusOf(app.fetch("/jobs"))).toBe(200)
    expect(await statusOf(app.fetch("/jobs/nope", { method: "POST" }))).toBe(404)

    const health = await app.fetch("/health")
    expect(health.status).toBe(503)
    const report = await health.json()
    expect(report).toMatchObject({
      status: "DOWN",
      store: { status: "DOWN" },
      scheduler: { status: "running" },
    })
    expect(report.message).toContain("store down")

    const outage = await events.until((es) => es.some((e) => e.event === "store" && !e.data.ok))
    expect(outage.find((e) => e.event === "store")?.data.message).toContain("unavailable")
    Effect.runSync(Ref.set(down, false))
    await events.until((es) => es.some((e) => e.event === "store" && e.data.ok))
    await events.close()
    const recovered = await app.fetch("/health")
    expect(recovered.status).toBe(200)
    expect(await recovered.json()).toMatchObject({ status: "UP" })
  })
})

describe("a trigger that fails for another reason", () => {
  it("is 500 with a KO message (here: the manager is shutting down)", async () => {
    const { stores } = Effect.runSync(makeSwitchableStores)
    const [, start] = targets[0]
    const app = await start({ stores, jobs })
    try {
      await Effect.runPromise(app.manager!.shutdown)
      const res = await app.fetch("/jobs/import", { method: "POST" })
      expect(res.status).toBe(500)
      expect(await res.json()).toEqual({
        status: "KO",
        message: "the job did not start: the job manager is shutting down",
        _tag: "TriggerFailed",
      })
    } finally {
      await app.close()
    }
  })
})
