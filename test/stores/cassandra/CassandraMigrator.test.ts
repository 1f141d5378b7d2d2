import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import cassandra from "cassandra-driver"
import { Effect, Exit, Logger, LogLevel } from "effect"
import type { StoreError } from "../../../src/domain/Errors.js"
import {
  defaultDirectory,
  loadMigrations,
  type MigrateOptions,
  migrate,
  splitStatements,
} from "../../../src/stores/cassandra/CassandraMigrator.js"
import * as CassandraStore from "../../../src/stores/cassandra/CassandraStore.js"
import { requiredColumns } from "../../../src/stores/cassandra/CassandraTables.js"
import { describeCassandra, options, target } from "../../setup/cassandra.js"

describe("CassandraMigrator without a server", () => {
  it("splits CQL into statements, ignoring comments and semicolons inside literals", () => {
    const cql = `-- a comment; with a semicolon
CREATE TABLE a (k text PRIMARY KEY); // another
/* block; comment */ INSERT INTO a (k) VALUES ('x;y''z');
CREATE FUNCTION f() RETURNS NULL ON NULL INPUT RETURNS text LANGUAGE java AS $$ return "a;b"; $$;
SELECT "odd;name" FROM a`
    assert.deepStrictEqual(splitStatements(cql), [
      "CREATE TABLE a (k text PRIMARY KEY)",
      "INSERT INTO a (k) VALUES ('x;y''z')",
      'CREATE FUNCTION f() RETURNS NULL ON NULL INPUT RETURNS text LANGUAGE java AS $$ return "a;b"; $$',
      'SELECT "odd;name" FROM a',
    ])
  })

  it.effect(
    "the shipped migrations are numbered from 1 and create every table and column the layer uses",
    () =>
      Effect.gen(function* () {
        const migrations = yield* loadMigrations()
        assert.deepStrictEqual(
          migrations.map((m) => m.version),
          migrations.map((_, i) => i + 1),
        )
        const cql = migrations.flatMap((m) => m.statements).join("\n")
        for (const [table, columns] of Object.entries(requiredColumns)) {
          const create = new RegExp(`CREATE TABLE IF NOT EXISTS ${table} \\(([^;]*)`).exec(cql)
          assert.isNotNull(create, `no CREATE TABLE for ${table}`)
          const added = [...cql.matchAll(new RegExp(`ALTER TABLE ${table} ADD IF NOT EXISTS (\\w+)`, "g"))]
          const defined = [create![1]!, ...added.map((m) => m[1]!)].join("\n")
          for (const column of columns)
            assert.match(defined, new RegExp(`\\b${column}\\b`), `${table}.${column}`)
        }
        // Every statement can run twice (setting a table option again changes nothing).
        for (const s of migrations.flatMap((m) => m.statements))
          assert.match(
            s,
            /^(CREATE TABLE IF NOT EXISTS |ALTER TABLE \w+ ADD IF NOT EXISTS |ALTER TABLE \w+ WITH )/,
          )
      }),
  )
})

const quiet = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Logger.withMinimumLogLevel(LogLevel.Warning))

const freshKeyspace = () =>
  `${target?.keyspace ?? "x"}_m${Math.random().toString(36).slice(2, 7)}`.slice(0, 48)

const dropKeyspaces = (names: ReadonlyArray<string>) =>
  Effect.promise(async () => {
    const client = new cassandra.Client({
      contactPoints: [...target!.contactPoints],
      localDataCenter: target!.localDataCenter,
      ...(target!.username
        ? { authProvider: new cassandra.auth.PlainTextAuthProvider(target!.username, target!.password ?? "") }
        : {}),
    })
    try {
      for (const name of names) await client.execute(`DROP KEYSPACE IF EXISTS "${name}"`)
    } finally {
      await client.shutdown()
    }
  })

const failure = <A>(effect: Effect.Effect<A, StoreError>) =>
  Effect.map(Effect.exit(effect), (exit) => {
    if (Exit.isSuccess(exit)) return assert.fail("expected a failure")
    return exit.cause._tag === "Fail" ? exit.cause.error.message : String(exit.cause)
  })

describeCassandra("CassandraMigrator", () => {
  it.live("creates the keyspace when asked, applies every migration once, and is idempotent", () => {
    const keyspace = freshKeyspace()
    const opts: MigrateOptions = options({ keyspace })
    return Effect.gen(function* () {
      const first = yield* quiet(
        migrate({
          ...opts,
          createKeyspace: { replication: "{'class': 'SimpleStrategy', 'replication_factor': 1}" },
        }),
      )
      const all = (yield* loadMigrations()).map((m) => ({ version: m.version, name: m.name }))
      assert.deepStrictEqual(first, { keyspace, createdKeyspace: true, applied: all, version: all.length })
      const second = yield* quiet(migrate({ ...opts, createKeyspace: {} }))
      assert.deepStrictEqual(second, { keyspace, createdKeyspace: false, applied: [], version: all.length })
      // The layer accepts the result.
      yield* Effect.scoped(CassandraStore.make(opts))
      // 0009: the pause read before every trigger asks every replica at once (see the migration).
      const retry = yield* Effect.promise(async () => {
        const client = new cassandra.Client({
          contactPoints: [...target!.contactPoints],
          localDataCenter: target!.localDataCenter,
          ...(target!.username
            ? {
                authProvider: new cassandra.auth.PlainTextAuthProvider(
                  target!.username,
                  target!.password ?? "",
                ),
              }
            : {}),
        })
        try {
          const rs = await client.execute(
            "SELECT speculative_retry FROM system_schema.tables WHERE keyspace_name = ? AND table_name = 'job_pauses'",
            [keyspace],
          )
          return rs.first()?.get("speculative_retry") as string | undefined
        } finally {
          await client.shutdown()
        }
      })
      assert.strictEqual(retry, "ALWAYS")
    }).pipe(Effect.ensuring(dropKeyspaces([keyspace])))
  })

  it.live("two migrators at once: the lock makes one apply everything and the other nothing", () => {
    const keyspace = freshKeyspace()
    const opts: MigrateOptions = { ...options({ keyspace }), createKeyspace: {} }
    return Effect.gen(function* () {
      const [a, b] = yield* quiet(Effect.all([migrate(opts), migrate(opts)], { concurrency: "unbounded" }))
      const count = (yield* loadMigrations()).length
      assert.deepStrictEqual(
        [a.applied.length + b.applied.length, a.version, b.version],
        [count, count, count],
      )
    }).pipe(Effect.ensuring(dropKeyspaces([keyspace])))
  })

  it.live(
    "refuses a missing keyspace (unless asked to create it), a bad replication, an edited migration",
    () => {
      const keyspace = freshKeyspace()
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-cql-"))
      return Effect.gen(function* () {
        const missing = yield* failure(quiet(migrate(options({ keyspace }))))
        assert.match(
          missing,
          new RegExp(`keyspace "${keyspace}" does not exist: create it .* --create-keyspace`),
        )
        const badReplication = yield* failure(
          quiet(migrate({ ...options({ keyspace }), createKeyspace: { replication: "SimpleStrategy" } })),
        )
        assert.match(badReplication, /replication "SimpleStrategy" is not a CQL map/)

        yield* quiet(migrate({ ...options({ keyspace }), createKeyspace: {} }))
        for (const file of fs.readdirSync(defaultDirectory))
          fs.copyFileSync(path.join(defaultDirectory, file), path.join(dir, file))
        // Comments and layout may change...
        const first = fs.readdirSync(dir).sort()[0]!
        fs.writeFileSync(
          path.join(dir, first),
          `-- a new comment\n${fs.readFileSync(path.join(dir, first), "utf8")}\n\n`,
        )
        const same = yield* quiet(migrate({ ...options({ keyspace }), directory: dir }))
        assert.deepStrictEqual(same.applied, [])
        // ...the CQL may not.
        fs.writeFileSync(
          path.join(dir, first),
          fs.readFileSync(path.join(dir, first), "utf8").replace("last_job_type text", "last_job_type int"),
        )
        const edited = yield* failure(quiet(migrate({ ...options({ keyspace }), directory: dir })))
        assert.match(
          edited,
          new RegExp(`migration ${first} differs from the one applied .*never edit an applied migration`),
        )
      }).pipe(
        Effect.ensuring(dropKeyspaces([keyspace])),
        Effect.ensuring(Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))),
      )
    },
  )
})
