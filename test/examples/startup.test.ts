import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import Database from "better-sqlite3"
import { afterAll, afterEach, assert, describe, it } from "vitest"
import { makeReadOnly, writeRandomBytes } from "../support/sqliteFiles.js"

// Real processes: `npm start` (examples/server.ts) on a SQLite path it cannot use.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-startup-"))
const children: Array<ChildProcess> = []
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** Runs the server until it exits (or `timeoutMs` passes); its exit code and everything it printed. */
const start = (db: string, timeoutMs = 15_000) =>
  new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "examples/server.ts"], {
      env: { ...process.env, HA_JOBS_STORE: "sqlite", HA_JOBS_SQLITE_PATH: db, PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    })
    children.push(child)
    let output = ""
    child.stdout!.on("data", (d) => (output += d))
    child.stderr!.on("data", (d) => (output += d))
    const timer = setTimeout(
      () => resolve({ code: null, output: `${output}\n(still running after ${timeoutMs} ms)` }),
      timeoutMs,
    )
    child.once("exit", (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })

/** One line that names the setting, the path and the cause; no stack; a non-zero exit. */
const assertOneClearLine = (
  { code, output }: { code: number | null; output: string },
  db: string,
  cause: string,
) => {
  assert.isNotNull(code, output)
  assert.notStrictEqual(code, 0, output)
  const lines = output.split("\n").filter((l) => l.trim() !== "")
  assert.lengthOf(lines, 1, output)
  assert.include(output, `cannot use the SQLite database at ${db} (HA_JOBS_SQLITE_PATH): ${cause}`)
  assert.notMatch(output, /^\s+at /m)
}

describe("npm start with a SQLite path it cannot use: one clear line, non-zero exit", () => {
  it("a parent that is a file", async () => {
    const blocker = path.join(dir, "blocker")
    fs.writeFileSync(blocker, "not a directory")
    const db = path.join(blocker, "ha-jobs.db")
    assertOneClearLine(await start(db), db, `${blocker} is a file, not a directory`)
  }, 30_000)

  it("a path under /proc (Node's recursive mkdir spins there for good): fails within seconds", async () => {
    const db = "/proc/ha-jobs-nowhere/ha-jobs.db"
    const started = Date.now()
    const result = await start(db)
    assertOneClearLine(result, db, "cannot create the directory /proc/ha-jobs-nowhere")
    assert.isBelow(Date.now() - started, 10_000)
  }, 30_000)

  it("random bytes instead of a database", async () => {
    const db = path.join(dir, "random.db")
    writeRandomBytes(db)
    assertOneClearLine(await start(db), db, "file is not a database (SQLITE_NOTADB)")
  }, 30_000)

  it("a read-only database", async () => {
    const db = path.join(dir, "read-only.db")
    const conn = new Database(db)
    conn.pragma("journal_mode = WAL")
    conn.exec("CREATE TABLE t (x)")
    conn.close()
    makeReadOnly(db)
    assertOneClearLine(await start(db), db, "attempt to write a readonly database (SQLITE_READONLY)")
  }, 30_000)
})
