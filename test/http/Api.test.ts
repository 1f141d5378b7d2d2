import { FetchHttpClient, HttpApiClient } from "@effect/platform"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Job from "../../src/core/Job.js"
import { HaJobsApi } from "../../src/http/Api.js"
import { memoryStores } from "../support/harness.js"
import { startServer, type Target } from "../support/httpHarness.js"

const jobs = [
  Job.make({ type: "holder", lockType: "shared", run: Effect.never }),
  Job.make({ type: "other", lockType: "shared", run: Effect.never }),
]

describe("the typed client derived from HaJobsApi", () => {
  let app: Target
  beforeAll(async () => {
    app = await startServer({ stores: Effect.runSync(memoryStores), jobs, http: { token: "t" } })
  })
  afterAll(() => app.close())

  const makeClient = (baseUrl: string) => HttpApiClient.make(HaJobsApi, { baseUrl })
  type Client = Effect.Effect.Success<ReturnType<typeof makeClient>>
  const call = <A, E>(f: (client: Client) => Effect.Effect<A, E>, token?: string) =>
    Effect.runPromise(
      makeClient(app.baseUrl!).pipe(
        Effect.flatMap(f),
        // One connection per request, as in the harness.
        Effect.provideService(FetchHttpClient.RequestInit, {
          headers: { connection: "close", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        }),
        Effect.provide(FetchHttpClient.layer),
      ),
    )
  const withToken = <A, E>(f: (client: Client) => Effect.Effect<A, E>) => call(f, "t")

  it("decodes successes and the typed errors (401, 409 with the holder, 404)", async () => {
    const unauthorized = await call((c) => Effect.flip(c.jobs.types({ urlParams: {} })))
    expect(unauthorized._tag).toBe("Unauthorized")

    expect(await withToken((c) => c.jobs.types({ urlParams: {} }))).toEqual({
      jobTypes: ["holder", "other"],
      readOnly: false,
      total: 2,
      groups: [],
      next: null,
    })
    const started = await withToken((c) => c.jobs.trigger({ path: { jobType: "holder" } }))
    expect(started.status).toBe("OK")
    const conflict = await withToken((c) => Effect.flip(c.jobs.trigger({ path: { jobType: "other" } })))
    expect(conflict).toMatchObject({
      _tag: "JobAlreadyRunning",
      holderJobType: "holder",
      holderJobId: started.jobId,
    })
    const missing = await withToken((c) =>
      Effect.flip(c.jobs.list({ path: { jobType: "nope" }, urlParams: {} })),
    )
    expect(missing).toMatchObject({ _tag: "JobTypeNotFound", jobType: "nope" })
    const status = await withToken((c) =>
      c.jobs.status({ path: { jobType: "holder", jobId: started.jobId } }),
    )
    expect(status.jobState).toBe("RUNNING")
  })
})
