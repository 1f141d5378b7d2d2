import { Clock, Effect, Schema } from "effect"
import { v7, validate, version } from "uuid"

// Time-ordered (version 7) UUIDs: their text sorts by creation time, in every store. Decoding
// lower-cases them: UUIDs are case-insensitive, ids are generated lower-case and stores compare text,
// so an upper-case id (valid, e.g. from a tool that prints them so) would otherwise never match.
const TimeOrderedUuid = (what: string) =>
  Schema.Lowercase.pipe(
    Schema.filter(
      (s) => (validate(s) && version(s) === 7) || `${what} "${s}" is not a time-ordered (version 7) UUID`,
    ),
  )

/** One execution of a job. */
export const JobId = TimeOrderedUuid("job id").pipe(Schema.brand("JobId"))
export type JobId = typeof JobId.Type

/** One logical trigger; every retry of it keeps the trigger id and gets a new job id. */
export const TriggerId = TimeOrderedUuid("trigger id").pipe(Schema.brand("TriggerId"))
export type TriggerId = typeof TriggerId.Type

// Monotonic within this process even when the clock stands still (TestClock) or steps back.
const state = { msecs: Number.NEGATIVE_INFINITY, seq: 0 }

const nextUuid = Effect.map(Clock.currentTimeMillis, (now) => {
  if (now > state.msecs) {
    state.msecs = now
    state.seq = Math.floor(Math.random() * 0x3fffffff)
  } else {
    state.seq = (state.seq + 1) | 0
    if (state.seq === 0) state.msecs++
  }
  return v7({ msecs: state.msecs, seq: state.seq })
})

/** One entry of the audit log. */
export const AuditId = TimeOrderedUuid("audit entry id").pipe(Schema.brand("AuditId"))
export type AuditId = typeof AuditId.Type

export const makeJobId: Effect.Effect<JobId> = nextUuid as Effect.Effect<JobId>
export const makeAuditId: Effect.Effect<AuditId> = nextUuid as Effect.Effect<AuditId>
export const makeTriggerId: Effect.Effect<TriggerId> = nextUuid as Effect.Effect<TriggerId>

/** The creation time embedded in a version 7 UUID (milliseconds since the epoch). */
export const timestampOf = (id: string): number => Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16)

/** One entry of a job type's event list (JobEvent). */
export const EventId = TimeOrderedUuid("event id").pipe(Schema.brand("EventId"))
export type EventId = typeof EventId.Type
export const makeEventId: Effect.Effect<EventId> = nextUuid as Effect.Effect<EventId>

/**
 * A position in one execution's status history, made by the store (a page's `next`) and given back
 * to read the statuses written before it. Opaque to callers: the SQL stores' row id, Cassandra's
 * status id (a time-ordered UUID), the memory store's index. A store refuses one it did not make.
 */
export const HistoryCursor = Schema.Lowercase.pipe(
  Schema.filter(
    (s) =>
      /^\d{1,15}$/.test(s) ||
      (validate(s) && version(s) === 7) ||
      `history cursor "${s}" is not one a history page gave as its next page: start without it`,
  ),
  Schema.brand("HistoryCursor"),
)
export type HistoryCursor = typeof HistoryCursor.Type
