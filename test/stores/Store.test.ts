import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Config, ConfigError, ConfigProvider, Context, Duration, Effect, Layer, Option } from "effect"
import { afterAll } from "vitest"
import { StoreError } from "../../src/domain/Errors.js"
import * as Env from "../../src/Env.js"
import { LockRepository } from "../../src/ports/LockRepository.js"
import { StoreName } from "../../src/ports/StoreProbe.js"
import * as CassandraLayer from "../../src/stores/cassandra/CassandraLayer.js"
import * as CassandraStore from "../../src/stores/cassandra/CassandraStore.js"
import { MemoryLayer, makeMemoryStores } from "../../src/stores/memory/MemoryLayer.js"
import * as MemoryStore from "../../src/stores/memory/MemoryStore.js"
import * as Store from "../../src/stores/Store.js"
import * as StoreLayer from "../../src/stores/StoreLayer.js"
import * as SqliteLayer from "../../src/stores/sqlite/SqliteLayer.js"
import * as SqliteStore from "../../src/stores/sqlite/SqliteStore.js"

/** The stores' entry points: `layer(options)`, `layerConfig(config)`, `layerFromEnv()`, and the old names. */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-entry-points-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const env = (entries: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(entries))))

/** The store name a layer puts in its output ("SQLite at ..."), once built. */
const nameOf = <E>(layer: Layer.Layer<LockRepository, E>) =>
  Effect.flatMap(Layer.build(layer), (ctx) => {
    assert.isDefined(Context.get(ctx, LockRepository))
    return Effect.provide(StoreName, ctx)
  })

describe("store entry points", () => {
  it.scoped("Store.layerFromEnv() builds the store HA_JOBS_STORE names", () =>
    Effect.gen(function* () {
      assert.strictEqual(
        yield* nameOf(Store.layerFromEnv()).pipe(env({ HA_JOBS_STORE: "memory" })),
        "in-memory store",
      )
      const file = path.join(dir, "from-env.db")
      const sqlite = yield* nameOf(Store.layerFromEnv()).pipe(env({ HA_JOBS_SQLITE_PATH: file }))
      assert.strictEqual(sqlite, `SQLite at ${file}`)
      assert.strictEqual(
        yield* Store.describeFromEnv.pipe(env({ HA_JOBS_SQLITE_PATH: file })),
        `SQLite at ${file}`,
      )
      assert.strictEqual(
        yield* Store.describeFromEnv.pipe(
          env({ HA_JOBS_STORE: "cassandra", CASSANDRA_CONTACT_POINTS: "db1,db2:9043" }),
        ),
        "Cassandra at db1,db2:9043, keyspace ha_jobs",
      )
      const wrong = yield* Effect.flip(
        Layer.build(Store.layerFromEnv()).pipe(env({ HA_JOBS_STORE: "redis" })),
      )
      assert.isTrue(ConfigError.isConfigError(wrong))
      assert.include(String(wrong), Env.Store.name)
    }),
  )

  it.scoped("SqliteStore.layerConfig takes a Config (one per field)", () =>
    Effect.gen(function* () {
      const file = path.join(dir, "from-config.db")
      const name = yield* nameOf(SqliteStore.layerConfig({ filename: Config.string("MY_DB_FILE") })).pipe(
        env({ MY_DB_FILE: file }),
      )
      assert.strictEqual(name, `SQLite at ${file}`)
    }),
  )

  it.effect("CassandraStore.layerConfig takes a Config; bad options fail before any connection", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Layer.build(
          CassandraStore.layerConfig({
            contactPoints: Config.succeed(["db1:notaport"]),
            keyspace: Config.string("MY_KEYSPACE"),
          }),
        ).pipe(env({ MY_KEYSPACE: "jobs" }), Effect.scoped),
      )
      assert.instanceOf(error, StoreError)
      assert.include((error as StoreError).message, `contact point "db1:notaport"`)
      // From the environment: the variable is named.
      const fromEnv = yield* Effect.flip(
        Layer.build(CassandraStore.layerFromEnv()).pipe(env({ CASSANDRA_KEYSPACE: "jobs" }), Effect.scoped),
      )
      assert.isTrue(ConfigError.isConfigError(fromEnv))
      assert.include(String(fromEnv), Env.CassandraContactPoints.name)
    }),
  )

  it.effect("Env: the defaults are parsed by each variable's Config, and set values win", () =>
    Effect.gen(function* () {
      assert.isTrue(Duration.equals(Env.CassandraRequestTimeout.defaultValue, Duration.seconds(12)))
      assert.strictEqual(CassandraStore.defaults.statusRetention, Env.CassandraStatusRetention.defaultValue)
      assert.strictEqual(SqliteStore.DefaultFilename, "./data/ha-jobs.db")
      assert.strictEqual(yield* Env.EventsMaxStreams.config.pipe(env({})), 100)
      assert.strictEqual(yield* Env.EventsMaxStreams.config.pipe(env({ HA_JOBS_EVENTS_MAX_STREAMS: "7" })), 7)
      assert.isTrue(Option.isNone(yield* Env.ApiToken.config.pipe(env({}))))
    }),
  )

  it("the old names are the new entry points", () => {
    assert.strictEqual(MemoryLayer, MemoryStore.layer)
    assert.strictEqual(makeMemoryStores, MemoryStore.make)
    assert.strictEqual(SqliteLayer.layer, SqliteStore.layer)
    assert.strictEqual(CassandraLayer.layer, CassandraStore.layer)
    assert.strictEqual(CassandraLayer.layerFromConfig, CassandraStore.layerConfig)
    assert.strictEqual(CassandraLayer.config, CassandraStore.config)
    assert.strictEqual(StoreLayer.describe, Store.describeFromEnv)
    assert.strictEqual(StoreLayer.StoreKind, Env.Store.config)
  })
})
