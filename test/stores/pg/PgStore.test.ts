import * as net from "node:net"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { assert, it } from "@effect/vitest"
import {
  Config,
  ConfigProvider,
  Context,
  Duration,
  Effect,
  Layer,
  Redacted,
  String as Str,
  TestClock,
} from "effect"
import { makeJobId } from "../../../src/domain/Ids.js"
import type { JobType, LockType } from "../../../src/domain/Names.js"
import { LockRepository } from "../../../src/ports/LockRepository.js"
import * as PgStore from "../../../src/stores/pg/PgStore.js"
import * as Store from "../../../src/stores/Store.js"
import * as SqlStore from "../../../src/stores/sql/SqlStore.js"
import { admin, describePostgres, freshSchema, url } from "../../setup/postgres.js"

/** Start-up errors are read in a log: one line, no stack, no driver wrapper. */
const assertOneLine = (message: string) => {
  assert.notInclude(message, "\n")
  assert.notInclude(message, "Failed to")
}

/** The layer's failure and how long it took to fail. */
const startFails = (options: PgStore.PgStoreOptions) =>
  Effect.gen(function* () {
    const started = Date.now()
    const error = yield* Effect.flip(Layer.build(PgStore.layer(options)))
    const took = Date.now() - started
    console.log(`PgStore start-up failure after ${took} ms: ${error.message}`)
    assert.strictEqual(error._tag, "StoreError")
    assertOneLine(error.message)
    assert.isBelow(took, 8_000)
    return error.message
  })

const withUrl = (change: (u: URL) => void) => {
  const u = new URL(url)
  change(u)
  return u.toString()
}

const lock = (name: string) => ({ lockType: name as LockType, jobType: name as JobType })

it.scoped("a URL that is not a PostgreSQL URL: named (without its password), with the form to use", () =>
  Effect.gen(function* () {
    const message = yield* startFails({ url: "http://admin:s3cret@db.example:5432/app" })
    assert.include(message, 'cannot use PostgreSQL at "http://admin:***@db.example:5432/app"')
    assert.include(message, "postgres://user:password@host:5432/database")
    assert.notInclude(message, "s3cret")
  }),
)

it.scoped("a refused connection (port 1): the cause and the fix, at once, without the password", () =>
  Effect.gen(function* () {
    const message = yield* startFails({ url: "postgres://postgres:s3cret@127.0.0.1:1/postgres" })
    assert.include(
      message,
      "cannot use PostgreSQL at postgres://postgres:***@127.0.0.1:1/postgres: connection refused by 127.0.0.1:1 (ECONNREFUSED); start PostgreSQL there",
    )
    assert.notInclude(message, "s3cret")
  }),
)

it.scoped("a host that does not resolve", () =>
  Effect.gen(function* () {
    const message = yield* startFails({ url: "postgres://postgres@no-such-host.invalid:5432/postgres" })
    assert.include(message, "host no-such-host.invalid not found (ENOTFOUND); correct the host name")
  }),
)

it.scoped("a server that accepts connections and never answers: a timeout error, not a hang", () =>
  Effect.gen(function* () {
    // A TCP listener that says nothing: what a paused server or a black-holing proxy looks like.
    const sockets: Array<net.Socket> = []
    const server = yield* Effect.acquireRelease(
      Effect.async<net.Server>((resume) => {
        const s = net.createServer((socket) => void sockets.push(socket))
        s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
      }),
      (s) =>
        Effect.sync(() => {
          for (const socket of sockets) socket.destroy()
          s.close()
        }),
    )
    const port = (server.address() as net.AddressInfo).port
    const message = yield* startFails({
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      connectTimeout: "1 second",
    })
    assert.include(message, `no answer from 127.0.0.1:${port}`)
    assert.include(message, "not paused")
  }),
)

it.effect("HA_JOBS_STORE=postgres: DATABASE_URL chooses the server, described without its password", () =>
  Effect.gen(function* () {
    const described = yield* Store.describeFromEnv.pipe(
      Effect.withConfigProvider(
        ConfigProvider.fromMap(
          new Map([
            ["HA_JOBS_STORE", "postgres"],
            ["DATABASE_URL", "postgres://app:s3cret@db.internal:6543/jobs"],
            ["HA_JOBS_PG_SCHEMA", "ha_jobs"],
          ]),
        ),
      ),
    )
    assert.strictEqual(described, "PostgreSQL at postgres://app:***@db.internal:6543/jobs, schema ha_jobs")
  }),
)

it.scoped("layerConfig takes a Config, and a refused server fails it like layer does", () =>
  Effect.gen(function* () {
    const error = yield* Effect.flip(
      Layer.build(
        PgStore.layerConfig({ url: Config.redacted("MY_DB"), connectTimeout: Config.succeed("2 seconds") }),
      ),
    ).pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["MY_DB", "postgres://x@127.0.0.1:1/x"]]))),
    )
    assert.include(error.message, "connection refused by 127.0.0.1:1 (ECONNREFUSED)")
  }),
)

describePostgres("PgStore on a running server", () => {
  it.scoped("a database that does not exist: the server's words, and how to create it", () =>
    Effect.gen(function* () {
      const message = yield* startFails({ url: withUrl((u) => (u.pathname = "/no_such_db")) })
      assert.include(message, 'database "no_such_db" does not exist (3D000)')
      assert.include(message, "CREATE DATABASE no_such_db")
    }),
  )

  it.scoped("a user the server does not know (wrong credentials)", () =>
    Effect.gen(function* () {
      const message = yield* startFails({ url: withUrl((u) => (u.username = "nobody")) })
      assert.include(message, 'role "nobody" does not exist (28000)')
      assert.include(message, "check the user name")
    }),
  )

  it.scoped("a schema name that is not a plain SQL name is refused before connecting", () =>
    Effect.gen(function* () {
      const message = yield* startFails({ url, schema: "x; DROP TABLE y" })
      assert.include(message, "is not a lower-case SQL name")
    }),
  )

  const schema = freshSchema()

  it.scoped(
    "the server's clock judges expiry: an instance whose clock is a day ahead still finds it held",
    () =>
      Effect.gen(function* () {
        const locks = Context.get(yield* Layer.build(PgStore.layer({ url, schema })), LockRepository)
        const { lockType, jobType } = lock(`clock-${Date.now()}`)
        const first = yield* locks.acquire({
          lockType,
          jobType,
          jobId: yield* makeJobId,
          ttl: Duration.seconds(30),
        })
        assert.strictEqual(first._tag, "Acquired")
        // Under an Effect clock (SQLite's) the lease would have expired a day ago by now.
        yield* TestClock.adjust("1 day")
        const second = yield* locks.acquire({
          lockType,
          jobType,
          jobId: yield* makeJobId,
          ttl: Duration.seconds(30),
        })
        assert.strictEqual(second._tag, "Held")
      }),
  )

  it.scoped(
    "instances racing for a lock on separate pools: exactly one wins each round, tokens increase",
    () =>
      Effect.gen(function* () {
        const instances = yield* Effect.forEach([1, 2, 3, 4], () =>
          Effect.map(Layer.build(PgStore.layer({ url, schema, maxConnections: 2 })), (ctx) =>
            Context.get(ctx, LockRepository),
          ),
        )
        const { lockType, jobType } = lock(`race-${Date.now()}`)
        let last = 0
        for (let round = 0; round < 30; round++) {
          const results = yield* Effect.forEach(
            instances,
            (locks) =>
              Effect.flatMap(makeJobId, (jobId) =>
                Effect.map(locks.acquire({ lockType, jobType, jobId, ttl: Duration.seconds(30) }), (r) => ({
                  r,
                  jobId,
                  locks,
                })),
              ),
            { concurrency: "unbounded" },
          )
          const winners = results.filter((x) => x.r._tag === "Acquired")
          assert.strictEqual(winners.length, 1, `round ${round}`)
          const w = winners[0]!
          const token = w.r._tag === "Acquired" ? w.r.token : -1
          assert.isAbove(token, last)
          last = token
          assert.isTrue(yield* w.locks.release({ lockType, jobId: w.jobId, token }))
        }
      }),
  )

  it.scoped(
    "on an application's client: its name transforms and its transaction do not reach the store",
    () =>
      Effect.gen(function* () {
        yield* Effect.promise(() => admin((c) => c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`)))
        const u = new URL(url)
        u.searchParams.set("options", `-c search_path=${schema}`)
        const ctx = yield* Layer.build(
          SqlStore.layer({ name: "the app's PostgreSQL" }).pipe(
            Layer.provideMerge(
              PgClient.layer({
                url: Redacted.make(u.toString()),
                transformResultNames: Str.snakeToCamel,
                transformQueryNames: Str.camelToSnake,
              }),
            ),
          ),
        )
        const locks = Context.get(ctx, LockRepository)
        const sql = Context.get(ctx, SqlClient.SqlClient)
        const { lockType, jobType } = lock(`shared-${Date.now()}`)
        // A job triggered inside the application's transaction, which then rolls back.
        const acquired = yield* sql
          .withTransaction(
            Effect.flatMap(
              Effect.flatMap(makeJobId, (jobId) =>
                locks.acquire({ lockType, jobType, jobId, ttl: Duration.seconds(30) }),
              ),
              (r) => Effect.fail(r),
            ),
          )
          .pipe(Effect.flip)
        assert.strictEqual((acquired as { _tag: string })._tag, "Acquired")
        const held = yield* locks.holder(lockType)
        assert.isTrue(held._tag === "Some", "the lease outlives the application's rollback")
      }),
  )
})
