import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect } from "effect"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import * as Job from "../../src/core/Job.js"
import { StoreError } from "../../src/domain/Errors.js"
import * as MemoryStore from "../../src/stores/memory/MemoryStore.js"
import * as SqliteStore from "../../src/stores/sqlite/SqliteStore.js"
import { startServer, type Target } from "../support/httpHarness.js"
import { holdWriteLock } from "../support/sqliteFiles.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-health-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const jobs = [Job.make({ type: "import", run: Effect.succeed({ ok: true }) })]

let app: Target | undefined
afterEach(async () => {
  await app?.close()
  app = undefined
})

/** The Node server on a real SQLite file. */
const startOnSqlite = (options: SqliteStore.SqliteOptions): Promise<Target> =>
  startServer({ stores: SqliteStore.layer(options), jobs })

describe("/health checks that the store can write", () => {
  it("a second process holds the SQLite write lock: 503 naming the store and the failing write", async () => {
    const file = path.join(dir, "locked.db")
    // The default busy timeout (5 s): /health waits less than that for the lock, and the wait does
    // not block the event loop, so it answers within about a second.
    app = await startOnSqlite({ filename: file })
    expect((await app.fetch("/health")).status).toBe(200)

    const holder = await holdWriteLock(file)
    try {
      const asked = Date.now()
      const res = await app.fetch("/health")
      const took = Date.now() - asked
      console.log(
        `/health with the write lock held elsewhere (default busy timeout 5 s): ${res.status} after ${took} ms`,
      )
      expect(res.status).toBe(503)
      const body = await res.json()
      expect(body.store).toMatchObject({
        status: "DOWN",
        name: `SQLite at ${file}`,
        operation: "acquire",
      })
      expect(body.store.message).toContain("database is locked")
      expect(body.message).toContain(`SQLite at ${file}: acquire failed: database is locked`)
      expect(took).toBeLessThan(2_500)
    } finally {
      await holder.release()
    }
    expect((await app.fetch("/health")).status).toBe(200)
  }, 20_000)

  it("reads work but writes fail: 503 naming the write, not 200", async () => {
    const inner = Effect.runSync(MemoryStore.make)
    const readOnly = new StoreError({ operation: "acquire", message: "attempt to write a readonly database" })
    app = await startServer({
      jobs,
      stores: {
        statusRepository: inner.statusRepository,
        lockRepository: { ...inner.lockRepository, acquire: () => Effect.fail(readOnly) },
      },
    })
    const res = await app.fetch("/health")
    expect(res.status).toBe(503)
    const body = await res.json()
    expect(body.store).toMatchObject({ status: "DOWN", operation: "acquire" })
    expect(body.message).toContain("acquire failed: attempt to write a readonly database")
  })
})

describe("/health lists overdue and overrunning jobs; overdue fails it only when asked", () => {
  it("informational by default (200), 503 with ?overdue=fail; an overrunning execution is listed by id", async () => {
    app = await startServer({
      stores: MemoryStore.layer,
      jobs: [
        // Never succeeds: overdue 300 ms after the instance started.
        Job.make({
          type: "feed",
          retries: 0,
          expect: { successWithin: "300 millis" },
          run: Effect.fail("down"),
        }),
        Job.make({ type: "export", maxDuration: "200 millis", run: Effect.never }),
      ],
      haJobs: { expectations: { checkEvery: "100 millis" } },
    })
    const started = await (await app.fetch("/jobs/export", { method: "POST" })).json()
    const health = async (query = "") => {
      const res = await app!.fetch(`/health${query}`)
      return { status: res.status, body: await res.json() }
    }
    // Generous: the checks run every 100 ms; a loaded machine may be slow.
    let seen = await health()
    for (let i = 0; i < 100 && (seen.body.expectations?.overdue.length ?? 0) === 0; i++) {
      await new Promise((r) => setTimeout(r, 100))
      seen = await health()
    }
    expect(seen.status).toBe(200)
    expect(seen.body.status).toBe("UP")
    expect(seen.body.expectations.overdue).toEqual([
      { jobType: "feed", lastSuccessAt: null, overdueSince: expect.any(String), successWithin: "300ms" },
    ])
    expect(seen.body.expectations.overrunning).toEqual([
      { jobType: "export", jobId: started.jobId, startedAt: expect.any(String), maxDuration: "200ms" },
    ])
    const strict = await health("?overdue=fail")
    expect(strict.status).toBe(503)
    expect(strict.body.message).toContain("overdue: feed (no success within 300ms)")
    expect((await health("?overdue=maybe")).status).toBe(400)
  })
})
