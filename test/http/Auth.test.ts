import { HttpServer } from "@effect/platform"
import { ConfigProvider, Context, Effect, Exit, Layer, Option, Redacted, Scope } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import * as Job from "../../src/core/Job.js"
import { Forbidden } from "../../src/http/ApiErrors.js"
import * as HaJobsHttp from "../../src/http/HaJobsHttp.js"
import { memoryStores } from "../support/harness.js"
import { jobsLayer, statusOf, type Target, targets } from "../support/httpHarness.js"

const jobs = [Job.make({ type: "import", run: Effect.never })]
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

describe.each(targets)("security through the %s", (_, start) => {
  let app: Target | undefined
  afterEach(() => app?.close())
  const begin = async (http: HaJobsHttp.HttpOptions) => {
    app = await start({ stores: Effect.runSync(memoryStores), jobs, http })
    return app
  }

  it("a token from config: missing or wrong -> 401 with a challenge, right -> through", async () => {
    const app = await begin({ token: Redacted.make("s3cret") })
    for (const init of [
      {},
      bearer("wrong"),
      { headers: { authorization: "Basic czNjcmV0" } },
      { headers: { authorization: "s3cret" } },
    ]) {
      for (const [method, path] of [
        ["GET", "/jobs"],
        ["POST", "/jobs/import"],
        ["DELETE", "/jobs/import"],
        ["GET", "/jobs/import"],
        ["GET", "/events"],
        ["GET", "/metrics"],
      ] as const) {
        const res = await app.fetch(path, { method, ...init })
        expect(res.status, `${method} ${path} ${JSON.stringify(init)}`).toBe(401)
        expect(res.headers.get("www-authenticate")).toBe('Bearer realm="ha-jobs"')
        expect(await res.json()).toMatchObject({ status: "KO", _tag: "Unauthorized" })
      }
    }
    expect(await statusOf(app.fetch("/jobs", bearer("s3cret")))).toBe(200)
    expect(await statusOf(app.fetch("/jobs/import", { method: "POST", ...bearer("s3cret") }))).toBe(201)
    expect(await statusOf(app.fetch("/jobs/import", { method: "DELETE", ...bearer("s3cret") }))).toBe(200)
    // Open: health for probes, and the static pages (they hold no data; the dashboard asks for the token).
    for (const path of ["/health", "/jobsOverview", "/openapi.json"])
      expect(await statusOf(app.fetch(path)), path).toBe(200)
  })

  it("read-only mode: POST and DELETE -> 403, reads work, GET /jobs says so", async () => {
    const app = await begin({ readOnly: true })
    for (const method of ["POST", "DELETE"]) {
      const res = await app.fetch("/jobs/import", { method })
      expect(res.status).toBe(403)
      expect(await res.json()).toMatchObject({
        status: "KO",
        _tag: "Forbidden",
        message: expect.stringContaining("read-only"),
      })
    }
    const types = await app.fetch("/jobs")
    expect(await types.json()).toEqual({
      jobTypes: ["import"],
      readOnly: true,
      total: 1,
      groups: [],
      next: null,
    })
    expect(await statusOf(app.fetch("/jobs/import"))).toBe(200)
  })

  it("refuses writes a browser marks cross-site (another page posting to the API)", async () => {
    const app = await begin({})
    const res = await app.fetch("/jobs/import", {
      method: "POST",
      headers: { "sec-fetch-site": "cross-site" },
    })
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ message: expect.stringContaining("cross-site") })
    expect(await statusOf(app.fetch("/jobs", { headers: { "sec-fetch-site": "cross-site" } }))).toBe(200)
    expect(
      await statusOf(
        app.fetch("/jobs/import", { method: "POST", headers: { "sec-fetch-site": "same-origin" } }),
      ),
    ).toBe(201)
  })

  it("read-only with a token: the token is checked first", async () => {
    const app = await begin({ token: "s3cret", readOnly: true })
    expect(await statusOf(app.fetch("/jobs/import", { method: "POST" }))).toBe(401)
    expect(await statusOf(app.fetch("/jobs/import", { method: "POST", ...bearer("s3cret") }))).toBe(403)
  })

  it("a user-supplied hook decides (here: any token reads, only 'admin' writes)", async () => {
    const seen: Array<string> = []
    const app = await begin({
      authorize: ({ token, access, request }) => {
        seen.push(`${request.method} ${access}`)
        if (Option.isNone(token)) return Effect.fail(new Forbidden({ message: "who are you?" }))
        return access === "write" && Redacted.value(token.value) !== "admin"
          ? Effect.fail(new Forbidden({ message: "admins only" }))
          : Effect.void
      },
    })
    expect(await statusOf(app.fetch("/jobs"))).toBe(403)
    expect(await statusOf(app.fetch("/jobs", bearer("alice")))).toBe(200)
    const denied = await app.fetch("/jobs/import", { method: "POST", ...bearer("alice") })
    expect(denied.status).toBe(403)
    expect(await denied.json()).toMatchObject({ message: "admins only" })
    expect(await statusOf(app.fetch("/jobs/import", { method: "POST", ...bearer("admin") }))).toBe(201)
    expect(seen).toEqual(["GET read", "GET read", "POST write", "POST write"])
  })

  it("the audit log records who acted: the hook's answer, 'token' for the API token; a refused write leaves no entry", async () => {
    const entries = async (a: Target, init: RequestInit = {}) =>
      ((await (await a.fetch("/audit", init)).json()) as any).entries.map((e: any) => [
        e.action,
        e.identity,
        e.outcome,
      ])
    // A hook that names the caller.
    const named = await begin({
      authorize: ({ token }) =>
        Effect.succeed(Option.isSome(token) ? `user:${Redacted.value(token.value)}` : "nobody"),
    })
    await named.fetch("/jobs/import", { method: "POST", ...bearer("alice") })
    await named.fetch("/jobs/import", { method: "DELETE", ...bearer("bob") })
    const pause = {
      method: "POST",
      body: JSON.stringify({ note: "INC-1" }),
      headers: { "content-type": "application/json", authorization: "Bearer carol" },
    }
    await named.fetch("/jobs/import/pause", pause)
    await named.fetch("/jobs/import/resume", { method: "POST", ...bearer("carol") })
    expect(await entries(named)).toEqual([
      ["resume", "user:carol", "resumed"],
      ["pause", "user:carol", "paused"],
      ["cancel", "user:bob", "requested"],
      ["trigger", "user:alice", expect.stringMatching(/^started /)],
    ])
    await named.close()
    // The API token: "token"; read-only refuses (403) and writes nothing.
    app = await begin({ token: "s3cret" })
    await app.fetch("/jobs/import/pause", {
      ...pause,
      headers: { ...pause.headers, authorization: "Bearer s3cret" },
    })
    expect(
      await statusOf(
        app.fetch("/jobs/import/pause", { ...pause, headers: { "content-type": "application/json" } }),
      ),
    ).toBe(401)
    const backfillBody = JSON.stringify({
      from: "2026-01-01T00:00:00Z",
      to: "2026-01-02T00:00:00Z",
      dryRun: true,
    })
    expect(
      await statusOf(
        app.fetch("/jobs/import/backfill", {
          method: "POST",
          body: backfillBody,
          headers: { "content-type": "application/json" },
        }),
      ),
    ).toBe(401)
    expect(await entries(app, bearer("s3cret"))).toEqual([["pause", "token", "paused"]])
    await app.close()
    app = await begin({ readOnly: true })
    expect(await statusOf(app.fetch("/jobs/import/pause", pause))).toBe(403)
    expect(await statusOf(app.fetch("/jobs/import/resume", { method: "POST" }))).toBe(403)
    const backfill = {
      method: "POST",
      body: JSON.stringify({ from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z", dryRun: true }),
      headers: { "content-type": "application/json" },
    }
    expect(await statusOf(app.fetch("/jobs/import/backfill", backfill))).toBe(403)
    const withParams = { ...backfill, body: JSON.stringify({ params: { day: "2026-01-01" } }) }
    expect(await statusOf(app.fetch("/jobs/import", withParams))).toBe(403)
    expect(await entries(app)).toEqual([])
  })
})

describe("settings from config (environment variables in production)", () => {
  it("HA_JOBS_API_TOKEN, HA_JOBS_READ_ONLY, HA_JOBS_BASE_PATH and PORT=0", async () => {
    const config = ConfigProvider.fromMap(
      new Map([
        ["HA_JOBS_API_TOKEN", "from-env"],
        ["HA_JOBS_READ_ONLY", "true"],
        ["HA_JOBS_BASE_PATH", "/ops/"],
        ["PORT", "0"],
      ]),
    )
    const scope = Effect.runSync(Scope.make())
    try {
      const context = await Effect.runPromise(
        Layer.buildWithScope(
          HaJobsHttp.layerServer().pipe(
            Layer.provide(jobsLayer(Effect.runSync(memoryStores), jobs)),
            Layer.provide(Layer.setConfigProvider(config)),
          ),
          scope,
        ),
      )
      const address = Context.get(context, HttpServer.HttpServer).address
      const base = `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}/ops`
      const call = (path: string, init: RequestInit = {}) =>
        statusOf(fetch(base + path, { ...init, headers: { connection: "close", ...init.headers } }))
      expect(await call("/jobs")).toBe(401)
      expect(await call("/jobs", bearer("from-env"))).toBe(200)
      expect(await call("/jobs/import", { method: "POST", ...bearer("from-env") })).toBe(403)
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  })

  it("refuses an empty token and a malformed base path", async () => {
    for (const [key, value] of [
      ["HA_JOBS_API_TOKEN", ""],
      ["HA_JOBS_BASE_PATH", "ops/<x>"],
      ["PORT", "70000"],
    ]) {
      const exit = await Effect.runPromiseExit(
        Effect.scoped(
          Layer.build(
            HaJobsHttp.layerServer().pipe(
              Layer.provide(jobsLayer(Effect.runSync(memoryStores), jobs)),
              Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([[key!, value!]])))),
            ),
          ),
        ),
      )
      expect(Exit.isFailure(exit), key).toBe(true)
      expect(String(exit), key).toContain(key === "PORT" ? "PORT must be between" : key)
    }
  })
})
