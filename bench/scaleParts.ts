/**
 * What bench/scale.ts and its child processes (bench/scaleChild.ts) share: the stores a point runs
 * on, a counter of store calls, and the job types of a point.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Context, Effect, Layer, Option } from "effect"
import pg from "pg"
import * as Job from "../src/core/Job.js"
import { JobContext } from "../src/core/JobContext.js"
import { LockRepository } from "../src/ports/LockRepository.js"
import { StatusRepository } from "../src/ports/StatusRepository.js"
import { type AroundCall, isNoAnswer, mapLocks, mapStatuses } from "../src/ports/StoreBounds.js"
import * as CassandraStore from "../src/stores/cassandra/CassandraStore.js"
import * as MemoryStore from "../src/stores/memory/MemoryStore.js"
import * as PgStore from "../src/stores/pg/PgStore.js"
import * as SqliteStore from "../src/stores/sqlite/SqliteStore.js"
import { percentile } from "./stats.js"

export type StoreKind = "memory" | "sqlite" | "postgres" | "cassandra"

const pgUrl = process.env.DATABASE_URL ?? PgStore.DefaultUrl

/**
 * A new place for a point's store, removed with the scope: a SQLite file in a new temporary
 * directory, a PostgreSQL schema (of DATABASE_URL, default local). Memory and Cassandra have none:
 * a memory store is its process's, and Cassandra uses the migrated keyspace of CASSANDRA_* (each
 * point's job types have names of their own, so nothing of an earlier point is caught up).
 */
export const freshLocation = (kind: StoreKind) =>
  Effect.gen(function* () {
    if (kind === "sqlite") {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-scale-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      return path.join(dir, "scale.db")
    }
    if (kind === "postgres") {
      const schema = `ha_jobs_scale_${Date.now().toString(36)}`
      yield* Effect.addFinalizer(() =>
        Effect.promise(async () => {
          const client = new pg.Client({ connectionString: pgUrl })
          await client.connect()
          await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => client.end())
        }),
      )
      return schema
    }
    return ""
  })

/**
 * The store of that kind at `location` (see freshLocation), closed with the scope. `connections`:
 * PostgreSQL's pool (several processes share the server's max_connections, 100 by default).
 */
export const openStore = (kind: StoreKind, location: string, connections = 20) =>
  Effect.gen(function* () {
    if (kind === "memory") return yield* MemoryStore.make
    const context = yield* Layer.build(
      kind === "cassandra"
        ? CassandraStore.layerFromEnv()
        : kind === "postgres"
          ? PgStore.layer({ url: pgUrl, schema: location, maxConnections: connections })
          : SqliteStore.layer({ filename: location }),
    )
    return {
      lockRepository: Context.get(context, LockRepository),
      statusRepository: Context.get(context, StatusRepository),
    }
  })

/**
 * Counts every store call by port method while started; failed calls also under "!error", and those
 * cut off at their bound (LWT contention on Cassandra shows as these) under "!timeout".
 */
export const counter = () => {
  const counts = new Map<string, number>()
  let on = false
  let firstError: string | undefined
  const count = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1)
  const around: AroundCall = (operation) => (effect) =>
    Effect.suspend(() => {
      if (!on) return effect
      count(operation)
      return Effect.tapError(effect, (e) =>
        Effect.sync(() => {
          count("!error")
          firstError ??= `${operation}: ${e.message}`
          if (isNoAnswer(e)) count("!timeout")
        }),
      )
    })
  return {
    /** The store with every call counted. */
    wrap: (store: {
      readonly lockRepository: LockRepository["Type"]
      readonly statusRepository: StatusRepository["Type"]
    }) => ({
      lockRepository: mapLocks(store.lockRepository, around),
      statusRepository: mapStatuses(store.statusRepository, around),
    }),
    of: (operation: string) => counts.get(operation) ?? 0,
    /** The first failed call's operation and message, to say why calls failed. */
    get firstError() {
      return firstError
    },
    /** Store calls (not the "!" tallies of failures). */
    total: () => [...counts].reduce((a, [k, v]) => (k.startsWith("!") ? a : a + v), 0),
    snapshot: (): Record<string, number> => Object.fromEntries(counts),
    start: () => {
      counts.clear()
      on = true
    },
    stop: () => {
      on = false
    },
  }
}

/**
 * A point's J cron job types, named after `runTag`: each fires once a minute at its own second
 * (J/60 per second). `onRun` gets each scheduled run's job type and slot.
 */
export const scaleJobs = (runTag: string, J: number, onRun: (jobType: string, slot: number) => void) =>
  Array.from({ length: J }, (_, i) =>
    Job.make({
      type: `${runTag}-${i}`,
      cron: `${i % 60} * * * * ?`,
      run: Effect.flatMap(JobContext, (ctx) =>
        Effect.sync(() => {
          if (Option.isSome(ctx.scheduledAt)) onRun(ctx.jobType, ctx.scheduledAt.value)
        }),
      ),
    }),
  )

/**
 * A point's figures of its counted window: lag percentiles, store calls per slot run (`calls` gives
 * a port method's count, or a "!" tally), failed calls and the most runs of one slot.
 */
export const slotFigures = (
  lags: ReadonlyArray<number>,
  runsPerSlot: ReadonlyMap<string, number>,
  calls: (operation: string) => number,
) => {
  const slots = runsPerSlot.size
  const per = (op: string) => (slots === 0 ? Number.NaN : calls(op) / slots)
  return {
    slots,
    lagP50: percentile(lags, 50),
    lagP99: percentile(lags, 99),
    conditionalPerSlot: per("claimSlot") + per("acquire"),
    claimsPerSlot: per("claimSlot"),
    readsPerSlot: per("slotClaim") + per("paused"),
    storeErrors: calls("!error"),
    storeTimeouts: calls("!timeout"),
    maxRunsPerSlot: Math.max(0, ...runsPerSlot.values()),
  }
}

/** What a child process reports of its counted window. */
export interface ChildResult {
  readonly startupMs: number
  /** slot key (`jobType@slot`) → runs in this process */
  readonly runs: Record<string, number>
  readonly lags: ReadonlyArray<number>
  readonly calls: Record<string, number>
  readonly cpuMs: number
  readonly rssBytes: number
}
