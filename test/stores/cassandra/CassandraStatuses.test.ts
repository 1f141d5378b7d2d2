import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import cassandra from "cassandra-driver"
import { Effect, Logger, LogLevel, Option } from "effect"
import { v7 } from "uuid"
import { type JobId, makeJobId, timestampOf } from "../../../src/domain/Ids.js"
import type { JobState } from "../../../src/domain/JobState.js"
import { toColumns } from "../../../src/domain/JobStatus.js"
import type { JobType } from "../../../src/domain/Names.js"
import { dayOf, dayStart, monthOf, previousDay } from "../../../src/stores/cassandra/CassandraBuckets.js"
import { resolveEffect } from "../../../src/stores/cassandra/CassandraConfig.js"
import { defaultDirectory, loadMigrations, migrate } from "../../../src/stores/cassandra/CassandraMigrator.js"
import {
  cassandraCodecs,
  makeStatuses,
  valueColumns,
} from "../../../src/stores/cassandra/CassandraStatuses.js"
import * as CassandraStore from "../../../src/stores/cassandra/CassandraStore.js"
import { connect, makeSession, type Session } from "../../../src/stores/cassandra/Driver.js"
import { describeCassandra, options, target } from "../../setup/cassandra.js"
import { statusOf } from "../../support/statuses.js"

const second = 1000
const hour = 3600 * second
const day = 24 * hour
/**
 * Every second of this many minutes on each side of a midnight, through the store's save (a sample of
 * a per-second job: a whole day is 86,400 saves, minutes on this machine).
 */
const WindowMinutes = 30

let counter = 0
const jobTypeNamed = (what: string) =>
  `cs-${Date.now().toString(36)}-${(counter++).toString(36)}-${what}` as JobType

/** A job id made at `ms` (its random part differs at each call). */
const idAt = (ms: number, seq = 0) => v7({ msecs: ms, seq }) as JobId

describe("Cassandra status buckets (no server needed)", () => {
  it("a day bucket holds the seconds of one UTC day: at most 86,400 executions at one a second", () => {
    const midnight = Date.UTC(2026, 10, 30)
    assert.strictEqual(dayOf(midnight), 20261130)
    assert.strictEqual(dayOf(midnight + day - 1), 20261130)
    assert.strictEqual(dayOf(midnight + day), 20261201)
    assert.strictEqual(dayStart(20261201), midnight + day)
    assert.strictEqual(dayStart(20270101), Date.UTC(2027, 0, 1))
    // The audit log walks days back (CassandraStatuses' auditLog): across months, years, a leap day.
    assert.strictEqual(previousDay(20261201), 20261130)
    assert.strictEqual(previousDay(20270101), 20261231)
    assert.strictEqual(previousDay(20280301), 20280229)
    const seconds = new Set(Array.from({ length: 86_401 }, (_, i) => dayOf(midnight + i * second)))
    assert.deepStrictEqual([...seconds], [20261130, 20261201])
    assert.strictEqual(monthOf(midnight), 202611)
  })
})

/** The store's repository on a session whose statements are recorded (the reads a listing costs). */
const countedStatuses = (overrides: Parameters<typeof options>[0] = {}) =>
  Effect.gen(function* () {
    const config = yield* resolveEffect(options(overrides))
    const client = yield* connect(config)
    const session = makeSession(client, config)
    const queries: Array<string> = []
    const counted: Session = {
      ...session,
      execute: (query, params, opts) => {
        queries.push(query)
        return session.execute(query, params, opts)
      },
    }
    return { statuses: makeStatuses(counted), queries, client, keyspace: config.keyspace }
  })

const saveAt = (
  statuses: ReturnType<typeof makeStatuses>,
  jobType: JobType,
  jobId: JobId,
  state: JobState = "FINISHED",
) => Effect.flatMap(statusOf(jobType, jobId, state, timestampOf(jobId)), statuses.save)

const quiet = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Logger.withMinimumLogLevel(LogLevel.Warning))

describeCassandra("Cassandra statuses in day buckets", () => {
  it.live(
    "a per-second job: day partitions of at most 86,400 rows, a rare job in three reads, exact paging across days",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const { statuses, queries, client, keyspace } = yield* countedStatuses()
          const frequent = jobTypeNamed("every-second")
          const rare = jobTypeNamed("rare")
          // Loads the layout (one read of schema_version) before counting.
          yield* statuses.list(jobTypeNamed("warm-up"), { limit: 1 })

          // Every second around the midnight two days ago, and one execution on each of 10 older days.
          const midnight = dayStart(dayOf(Date.now() - 2 * day))
          const ids: Array<JobId> = []
          for (
            let ms = midnight - WindowMinutes * 60 * second;
            ms < midnight + WindowMinutes * 60 * second;
            ms += second
          )
            ids.push(idAt(ms))
          for (let d = 3; d <= 12; d++) ids.push(idAt(midnight - d * day + 12 * hour))
          const started = Date.now()
          yield* Effect.forEach(ids, (id) => saveAt(statuses, frequent, id), {
            concurrency: 64,
            discard: true,
          })
          const saveMs = Date.now() - started

          // Rows per partition, counted by Cassandra, for every day the index lists.
          const days = yield* Effect.promise(() =>
            client.execute(`SELECT day FROM "${keyspace}".status_days WHERE job_type = ?`, [frequent], {
              prepare: true,
            }),
          )
          const counts = new Map<number, number>()
          for (const row of days.rows) {
            const bucket = Number(row.get("day"))
            const rs = yield* Effect.promise(() =>
              client.execute(
                `SELECT COUNT(*) AS n, MIN(job_id) AS low, MAX(job_id) AS high FROM "${keyspace}".status_by_day WHERE job_type = ? AND day = ?`,
                [frequent, bucket],
                { prepare: true },
              ),
            )
            const first = rs.first()
            counts.set(bucket, Number(first.get("n")))
            // Every row of a partition belongs to its day.
            assert.strictEqual(dayOf(timestampOf(String(first.get("low")))), bucket)
            assert.strictEqual(dayOf(timestampOf(String(first.get("high")))), bucket)
          }
          const largest = Math.max(...counts.values())
          console.log(
            `[status buckets] ${ids.length} saves in ${saveMs} ms; ${counts.size} partitions, largest ${largest} rows`,
          )
          assert.strictEqual(counts.size, 12)
          assert.strictEqual(counts.get(dayOf(midnight)), WindowMinutes * 60)
          assert.strictEqual(counts.get(dayOf(midnight - 1)), WindowMinutes * 60)
          assert.isAtMost(largest, 86_400)
          assert.strictEqual(
            [...counts.values()].reduce((a, b) => a + b),
            ids.length,
          )

          // A rare job, run once 10 days ago: the index, its day, and status_pending (the page is not full).
          const once = idAt(Date.now() - 10 * day)
          yield* saveAt(statuses, rare, once)
          queries.length = 0
          const rarePage = yield* statuses.list(rare, { limit: 20 })
          assert.deepStrictEqual(
            rarePage.map((s) => s.jobId),
            [once],
          )
          const rareReads = queries.length
          assert.isAtMost(rareReads, 3)
          assert.isFalse(queries.some((q) => q.includes("status_latest")))

          // The first page of the per-second job: the index and the newest day.
          queries.length = 0
          const newest = yield* statuses.list(frequent, { limit: 100 })
          const frequentReads = queries.length
          assert.isAtMost(frequentReads, 2)
          console.log(
            `[status buckets] first page reads: rare job ${rareReads}, per-second job ${frequentReads}`,
          )

          // Newest first across days, page by page, exactly.
          const expected = [...ids].sort().reverse()
          assert.deepStrictEqual(
            newest.map((s) => s.jobId),
            expected.slice(0, 100),
          )
          const listed: Array<JobId> = []
          let before: JobId | undefined
          while (true) {
            const page = yield* statuses.list(frequent, { limit: 500, before })
            if (page.length === 0) break
            listed.push(...page.map((s) => s.jobId))
            before = page[page.length - 1]!.jobId
          }
          assert.strictEqual(listed.length, expected.length)
          assert.isTrue(listed.every((id, i) => id === expected[i]))
          // get finds an execution in its day, on both sides of midnight.
          const [lastBefore, firstAfter] = [ids[WindowMinutes * 60 - 1]!, ids[WindowMinutes * 60]!]
          assert.strictEqual(dayOf(timestampOf(firstAfter)), dayOf(timestampOf(lastBefore)) + 1)
          for (const id of [lastBefore, firstAfter, ids[ids.length - 1]!])
            assert.isTrue(Option.isSome(yield* statuses.get(frequent, id)))
          assert.isTrue(Option.isNone(yield* statuses.get(frequent, idAt(midnight + 1))))
        }),
      ),
    60_000,
  )

  it.live(
    "rows of the month layout written before migration 0004 are listed and read after it, merged with new ones",
    () => {
      const keyspace = `${target!.keyspace}_l${Math.random().toString(36).slice(2, 7)}`.slice(0, 48)
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-cql-"))
      for (const file of fs.readdirSync(defaultDirectory).filter((f) => f < "0004"))
        fs.copyFileSync(path.join(defaultDirectory, file), path.join(dir, file))
      const retention = "40 days"
      return Effect.gen(function* () {
        // The schema before 0004, and statuses written as the former version wrote them.
        yield* quiet(migrate({ ...options({ keyspace }), createKeyspace: {}, directory: dir }))
        const client = new cassandra.Client({
          contactPoints: [...target!.contactPoints],
          localDataCenter: target!.localDataCenter,
          keyspace,
          ...(target!.username
            ? {
                authProvider: new cassandra.auth.PlainTextAuthProvider(
                  target!.username,
                  target!.password ?? "",
                ),
              }
            : {}),
        })
        yield* Effect.acquireRelease(
          Effect.promise(() => client.connect()),
          () => Effect.promise(() => client.shutdown()),
        )
        const jobType = jobTypeNamed("upgrade")
        const markers = (n: number) => Array.from({ length: n }, () => "?").join(", ")
        const ttl = 40 * 86_400
        // The columns the former version wrote (params came with 0007).
        const oldColumns = valueColumns.filter((c) => c !== "params")
        const oldSave = (jobId: JobId, state: JobState) =>
          Effect.gen(function* () {
            const status = yield* statusOf(jobType, jobId, state, timestampOf(jobId))
            const row = toColumns(status, cassandraCodecs, null)
            const values = oldColumns.map((c) => row[c])
            const statusId = yield* makeJobId
            const queries = [
              {
                query: `INSERT INTO status_latest (job_type, bucket, job_id, status_id, ${oldColumns.join(", ")}) VALUES (${markers(4 + oldColumns.length)}) USING TTL ?`,
                params: [jobType, monthOf(timestampOf(jobId)), jobId, statusId, ...values, ttl],
              },
              {
                query: `INSERT INTO status_history (job_type, job_id, status_id, ${oldColumns.join(", ")}) VALUES (${markers(3 + oldColumns.length)}) USING TTL ?`,
                params: [jobType, jobId, statusId, ...values, ttl],
              },
              state === "RUNNING"
                ? {
                    query: `INSERT INTO status_pending (job_type, job_id, status_id, ${oldColumns.join(", ")}) VALUES (${markers(3 + oldColumns.length)}) USING TTL ?`,
                    params: [jobType, jobId, statusId, ...values, ttl],
                  }
                : {
                    query: "DELETE FROM status_pending WHERE job_type = ? AND job_id = ?",
                    params: [jobType, jobId],
                  },
            ]
            yield* Effect.promise(() => client.batch(queries, { prepare: true, logged: true }))
          })
        const now = Date.now()
        const oldRunning = idAt(now - 50 * day) // before the horizon, still running: from status_pending
        const previousMonth = idAt(now - 35 * day)
        const tenDays = idAt(now - 10 * day)
        const upgradedMidway = idAt(now - 2 * day) // running before the upgrade, finished after it
        const anHour = idAt(now - hour)
        yield* oldSave(oldRunning, "RUNNING")
        yield* oldSave(previousMonth, "FINISHED")
        yield* oldSave(tenDays, "FAILED")
        yield* oldSave(upgradedMidway, "RUNNING")
        yield* oldSave(anHour, "FINISHED")

        // Migration 0004 (and the later ones), by a later run, and this version of the store.
        const report = yield* quiet(migrate(options({ keyspace })))
        assert.deepStrictEqual(
          report.applied.map((m) => m.version),
          (yield* loadMigrations()).map((m) => m.version).filter((v) => v >= 4),
        )
        const { statusRepository: statuses } = yield* CassandraStore.make(
          options({ keyspace, statusRetention: retention }),
        )
        const fiveDays = idAt(now - 5 * day)
        const newest = idAt(now - 1)
        yield* Effect.flatMap(statusOf(jobType, fiveDays, "FINISHED", now), statuses.save)
        yield* Effect.flatMap(statusOf(jobType, newest, "RUNNING", now), statuses.save)
        yield* Effect.flatMap(statusOf(jobType, upgradedMidway, "FINISHED", now), statuses.save)

        const expected = [newest, anHour, upgradedMidway, fiveDays, tenDays, previousMonth, oldRunning]
        for (const limit of [2, 3, 100]) {
          const listed: Array<JobId> = []
          let before: JobId | undefined
          while (true) {
            const page = yield* statuses.list(jobType, { limit, before })
            if (page.length === 0) break
            listed.push(...page.map((s) => s.jobId))
            before = page[page.length - 1]!.jobId
          }
          assert.deepStrictEqual(listed, expected, `pages of ${limit}`)
        }
        const all = yield* statuses.list(jobType, { limit: 100 })
        assert.strictEqual(all.find((s) => s.jobId === upgradedMidway)?.jobState, "FINISHED")
        assert.strictEqual(all.find((s) => s.jobId === tenDays)?.jobState, "FAILED")
        for (const id of [previousMonth, tenDays, anHour, oldRunning, fiveDays])
          assert.strictEqual(Option.getOrThrow(yield* statuses.get(jobType, id)).jobId, id)
        assert.strictEqual(
          Option.getOrThrow(yield* statuses.get(jobType, upgradedMidway)).jobState,
          "FINISHED",
        )
        assert.deepStrictEqual(
          (yield* statuses.listPending(jobType, { limit: 10 })).map((s) => s.jobId),
          [newest, oldRunning],
        )
      }).pipe(
        Effect.scoped,
        Effect.ensuring(
          Effect.promise(async () => {
            fs.rmSync(dir, { recursive: true, force: true })
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
              await client.execute(`DROP KEYSPACE IF EXISTS "${keyspace}"`)
            } finally {
              await client.shutdown()
            }
          }),
        ),
      )
    },
    60_000,
  )
})
