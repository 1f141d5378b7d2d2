/**
 * One instance starting the SQL store on a SQLite file, as a process of its own (processes sharing a
 * file are SQLite's real concurrency; fibers of one process take turns on one connection).
 * Usage: node --import tsx sqliteStoreProcess.ts <file> <migrations folder> <start at, epoch ms>
 * Prints one JSON line: {"ok":true} or {"ok":false,"message":...}.
 */
import { Reactivity } from "@effect/experimental"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Exit } from "effect"
import * as SqlMigrations from "../../src/stores/sql/SqlMigrations.js"
import * as SqlStore from "../../src/stores/sql/SqlStore.js"

const [file, dir, startAt] = process.argv.slice(2)
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())))
const exit = await Effect.runPromiseExit(
  Effect.gen(function* () {
    const client = yield* SqliteClient.make({ filename: file! })
    // As SqliteStore does: the waiting for another process' lock happens off the event loop.
    yield* client.unsafe("PRAGMA busy_timeout = 10")
    yield* SqlStore.make(client, { migrations: SqlMigrations.fromDirectory(dir!) })
  }).pipe(Effect.scoped, Effect.provide(Reactivity.layer)),
)
console.log(JSON.stringify(Exit.isSuccess(exit) ? { ok: true } : { ok: false, message: String(exit.cause) }))
process.exit(0)
