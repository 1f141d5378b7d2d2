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
