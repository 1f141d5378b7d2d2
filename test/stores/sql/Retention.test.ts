import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Option, Schema } from "effect"
import { v7 } from "uuid"
import { AuditEntry } from "../../../src/domain/Audit.js"
import { AuditId, EventId } from "../../../src/domain/Ids.js"
import { JobEvent } from "../../../src/domain/JobEvent.js"
import type { JobType } from "../../../src/domain/Names.js"
import { LockRepository } from "../../../src/ports/LockRepository.js"
import { StatusRepository } from "../../../src/ports/StatusRepository.js"
import * as Retention from "../../../src/stores/sql/Retention.js"
import * as SqlStore from "../../../src/stores/sql/SqlStore.js"
import { describePostgres } from "../../setup/postgres.js"
import { type Dialect, postgres, sqlite } from "../../support/sqlDialects.js"

const day = 86_400_000
const epoch = Date.UTC(2026, 0, 1)

/** An audit entry made at `at` (its id of that time). */
const auditEntryAt = (at: number, jobType: JobType) =>
  new AuditEntry({
    id: Schema.decodeSync(AuditId)(v7({ msecs: at })),
    at: new Date(at),
    instance: "a",
    action: "trigger",
    jobType,
    identity: "token",
    detail: "",
    outcome: "started",
  })

/** A job event written at `at` (its id of that time), about the hour before. */
const eventAt = (at: number, jobType: JobType) =>
  new JobEvent({
    id: Schema.decodeSync(EventId)(v7({ msecs: at })),
    at: new Date(at),
    jobType,
    kind: "slot-missed",
    instance: "a",
    reason: "store unreachable",
    count: 3,
    from: new Date(at - 3_600_000),
    to: new Date(at - 60_000),
  })

/**
 * Issue 14.7: catch-up reads the last claimed slot of a job type, so retention must never delete
 * it. A monthly job (rarer than the 14-day retention) that was down over its slot is caught up on
 * memory and Cassandra (cron_last_slot has no TTL); before this, not on SQLite. Audit log entries
 * and job events older than the cutoff go, like statuses.
 */
const suite = (dialect: Dialect) =>
  it.scoped("retention keeps each job type's last claimed slot, however old, and deletes the rest", () =>
    Effect.gen(function* () {
      const ctx = yield* Layer.build(SqlStore.layer().pipe(Layer.provideMerge(yield* dialect.fresh())))
      const repo = Context.get(ctx, LockRepository)
      const statuses = Context.get(ctx, StatusRepository)
      const sql = Context.get(ctx, SqlClient.SqlClient)
      // Audit entries: one a day older than the cutoff (deleted), one at the cutoff (kept).
      const audited = `audited-${dialect.name}` as JobType
      const oldEntry = auditEntryAt(epoch + 59 * day, audited)
      const newEntry = auditEntryAt(epoch + 60 * day, audited)
      yield* statuses.record(oldEntry)
      yield* statuses.record(newEntry)
      // Job events the same way, by when they were written (`at`), not the slots they are about.
      const oldEvent = eventAt(epoch + 59 * day, audited)
      const newEvent = eventAt(epoch + 60 * day, audited)
      yield* statuses.recordEvent(oldEvent)
      yield* statuses.recordEvent(newEvent)
      const monthly = `monthly-${dialect.name}` as JobType
      const hourly = `hourly-${dialect.name}` as JobType
      // The monthly job's one slot, 60 days before the cutoff; the hourly job's slots on both sides.
      yield* repo.claimSlot({ jobType: monthly, slot: epoch, instance: "a", claimId: "monthly-0" })
      for (const at of [epoch, epoch + day, epoch + 70 * day, epoch + 71 * day])
        yield* repo.claimSlot({ jobType: hourly, slot: at, instance: "a", claimId: `hourly-${at}` })
      yield* Retention.run(sql, epoch + 60 * day)
      assert.deepStrictEqual(
        (yield* statuses.auditLog({ jobType: audited, limit: 10 })).map((e) => e.id),
        [newEntry.id],
      )
      assert.deepStrictEqual(
        (yield* statuses.events({ jobType: audited, limit: 10 })).map((e) => e.id),
        [newEvent.id],
      )
      assert.deepStrictEqual(yield* repo.lastSlot(monthly), Option.some(epoch))
      assert.deepStrictEqual(yield* repo.lastSlot(hourly), Option.some(epoch + 71 * day))
      const left = yield* sql<{ job_type: string; slot: number | string }>`
        SELECT job_type, slot FROM ha_slots WHERE job_type IN (${monthly}, ${hourly}) ORDER BY job_type, slot`
      assert.deepStrictEqual(
        left.map((r) => [r.job_type, Number(r.slot)]),
        [
          [hourly, epoch + 70 * day],
          [hourly, epoch + 71 * day],
          [monthly, epoch],
        ],
      )
    }),
  )

describe("SQL store retention: SQLite", () => suite(sqlite))
describePostgres("SQL store retention: PostgreSQL", () => suite(postgres))
