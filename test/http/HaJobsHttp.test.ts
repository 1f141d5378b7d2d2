import { createHash } from "node:crypto"
import { ConfigProvider, Effect, Exit, Layer } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import * as Job from "../../src/core/Job.js"
import * as HaJobsHttp from "../../src/http/HaJobsHttp.js"
import { memoryStores } from "../support/harness.js"
import { eventually, jobsLayer, statusOf, type Target, targets } from "../support/httpHarness.js"

// Issue 12, point 6: the smaller holes of the HTTP layer.

const jobs = [Job.make({ type: "import", run: Effect.void })]
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`

describe.each(targets)("hardening through the %s", (_, start) => {
  let app: Target | undefined
  afterEach(() => app?.close())
  const begin = async (http: HaJobsHttp.HttpOptions = {}) => {
    app = await start({ stores: Effect.runSync(memoryStores), jobs, http })
    return app
  }
  // The origin a page served by this app has (the web handler is reached as http://ha-jobs.test).
  const ownOrigin = (app: Target) => app.baseUrl ?? "http://ha-jobs.test"
  // A write that got past the guards: started, or refused only because the last one still runs.
  const passed = (status: number) => expect([201, 409]).toContain(status)

  it("trims a token given with surrounding whitespace (a file-mounted secret ends in a newline)", async () => {
    const app = await begin({ token: " s3cret\n" })
    expect(await statusOf(app.fetch("/jobs", { headers: bearer("s3cret") }))).toBe(200)
    expect(await statusOf(app.fetch("/jobs"))).toBe(401)
  })

  it("refuses writes whose Origin is not this server, whatever the scheme of a matching one", async () => {
    const app = await begin()
    for (const origin of ["http://evil.test", "null", `${ownOrigin(app)}.evil.test`]) {
      for (const method of ["POST", "DELETE"]) {
        const res = await app.fetch("/jobs/import", { method, headers: { origin } })
        expect(res.status, `${method} from ${origin}`).toBe(403)
        const body = await res.json()
        expect(body).toMatchObject({ status: "KO", _tag: "Forbidden" })
        expect(body.message).toContain(`origin "${origin}"`)
        expect(body.message).toContain("X-Forwarded-Host")
      }
    }
    // Reads stay open to any origin (the browser's same-origin policy keeps their answers private).
    expect(await statusOf(app.fetch("/jobs", { headers: { origin: "http://evil.test" } }))).toBe(200)
    const own = ownOrigin(app)
    passed(await statusOf(app.fetch("/jobs/import", { method: "POST", headers: { origin: own } })))
    passed(
      await statusOf(
        app.fetch("/jobs/import", { method: "POST", headers: { origin: own.replace(/^http:/, "https:") } }),
      ),
    )
    // Behind a proxy that rewrites Host, the original host comes as X-Forwarded-Host.
    passed(
      await statusOf(
        app.fetch("/jobs/import", {
          method: "POST",
          headers: { origin: "https://jobs.example.com", "x-forwarded-host": "jobs.example.com" },
        }),
      ),
    )
  })

  it("refuses same-site writes without a token, accepts them with the right one", async () => {
    const open = await begin()
    const res = await open.fetch("/jobs/import", {
      method: "POST",
      headers: { "sec-fetch-site": "same-site" },
    })
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({
      status: "KO",
      _tag: "Forbidden",
      message: expect.stringContaining("same-site"),
    })
    await open.close()
    app = undefined
    const guarded = await begin({ token: "s3cret" })
    const headers = { "sec-fetch-site": "same-site" }
    expect(await statusOf(guarded.fetch("/jobs/import", { method: "POST", headers }))).toBe(401)
    passed(
      await statusOf(
        guarded.fetch("/jobs/import", { method: "POST", headers: { ...headers, ...bearer("s3cret") } }),
      ),
    )
  })

  it("/docs has the dashboard's security headers, its CSP fits the page; every response has nosniff", async () => {
    const app = await begin()
    const docs = await app.fetch("/docs")
    const html = await docs.text()
    const csp = docs.headers.get("content-security-policy") ?? ""
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("frame-ancestors 'none'")
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!
    expect(csp).toContain(`script-src ${sha256(script)}`)
    expect(csp).toContain(sha256(style))
    expect(docs.headers.get("referrer-policy")).toBe("no-referrer")
    expect(docs.headers.get("x-content-type-options")).toBe("nosniff")
    for (const [method, path] of [
      ["GET", "/jobs"],
      ["GET", "/jobs/nope"],
      ["GET", "/jobs/import?limit=0"],
      ["POST", "/jobs/import"],
      ["GET", "/health"],
      ["GET", "/metrics"],
      ["GET", "/openapi.json"],
      ["GET", "/jobsOverview"],
      ["GET", "/"],
      ["GET", "/no/such/route"],
    ] as const) {
      const res = await app.fetch(path, { method })
      await res.arrayBuffer()
      expect(res.headers.get("x-content-type-options"), `${method} ${path}`).toBe("nosniff")
    }
  })

  it("finds an execution by its id in upper case", async () => {
    const app = await begin()
    const started = await app.fetch("/jobs/import", { method: "POST" })
    const { jobId } = (await started.json()) as { jobId: string }
    const upper = jobId.toUpperCase()
    await eventually(async () => {
      const res = await app.fetch(`/jobs/import/${upper}`)
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({ jobId, jobResult: "SUCCESS" })
    })
    const history = await app.fetch(`/jobs/import/${upper}/history`)
    expect(history.status).toBe(200)
    expect(((await history.json()) as any).history[0].jobId).toBe(jobId)
    expect(await statusOf(app.fetch(`/jobs/import?before=${upper}`))).toBe(200)
  })

  it("a query parameter given twice -> 400 with the usual body naming it", async () => {
    const app = await begin()
    for (const [query, parameter] of [
      ["limit=1&limit=2", "limit"],
      ["before=a&before=b", "before"],
    ] as const) {
      const res = await app.fetch(`/jobs/import?${query}`)
      expect(res.status, query).toBe(400)
      expect(await res.json()).toEqual({
        status: "KO",
        _tag: "InvalidParameter",
        parameter,
        message: `${parameter} given twice; give it once`,
      })
    }
  })

  it("an unknown method on a known route -> 405 with Allow and the usual body; unknown paths stay 404", async () => {
    const app = await begin()
    for (const [method, path, allow] of [
      ["PUT", "/jobs/import", "DELETE, GET, HEAD, POST"],
      ["PATCH", "/jobs", "GET, HEAD"],
      ["DELETE", "/health", "GET, HEAD"],
      ["POST", "/jobs/import/latest", "GET, HEAD"],
      ["PUT", "/docs", "GET, HEAD"],
    ] as const) {
      const res = await app.fetch(path, { method })
      expect(res.status, `${method} ${path}`).toBe(405)
      expect(res.headers.get("allow"), `${method} ${path}`).toBe(allow)
      expect(await res.json()).toMatchObject({
        status: "KO",
        _tag: "MethodNotAllowed",
        message: `${method} is not allowed on ${path}; use ${allow}`,
      })
    }
    expect(await statusOf(app.fetch("/no/such/route", { method: "PUT" }))).toBe(404)
  })
})

describe("the API token from config", () => {
  const build = (token: string) =>
    Effect.runPromiseExit(
      Effect.scoped(
        Layer.build(
          HaJobsHttp.layerServer({ port: 0, host: "127.0.0.1" }).pipe(
            Layer.provide(jobsLayer(Effect.runSync(memoryStores), jobs)),
            Layer.provide(
              Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["HA_JOBS_API_TOKEN", token]]))),
            ),
          ),
        ),
      ),
    )

  it("refuses at start-up a token empty after trimming, or with inner whitespace or control characters", async () => {
    for (const [token, expected] of [
      [" \n", "empty"],
      ["two words", "whitespace or control characters"],
      ["tab\there", "whitespace or control characters"],
      ["bell\u0007", "whitespace or control characters"],
    ] as const) {
      const exit = await build(token)
      expect(Exit.isFailure(exit), JSON.stringify(token)).toBe(true)
      expect(String(exit), JSON.stringify(token)).toContain("HA_JOBS_API_TOKEN")
      expect(String(exit), JSON.stringify(token)).toContain(expected)
    }
    expect(Exit.isSuccess(await build("s3cret\n"))).toBe(true)
  })
})
