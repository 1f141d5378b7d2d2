/**
 * src/domain: definitions without behaviour (docs/architecture.md).
 *
 * This module: what the library decided about a slot or a trigger that is not an execution — the
 * answers to "why did (or didn't) X run at T?" that used to live only in logs or a counter.
 */
import { Schema } from "effect"
import { EventId } from "./Ids.js"
import { JobType } from "./Names.js"

/**
 * - `slot-missed`: a cron slot nobody ran (its claim gave up in a store outage, or a later slot
 *   superseded it).
 * - `misfire`: a slot found later than the misfire threshold (a paused process): not fired here.
 * - `overlap`: a claimed slot not run because an earlier execution still held the lock.
 * - `paused`: a claimed slot not run because its job type was paused.
 * - `start-failed`: a claimed slot whose start failed (the store refused the lock or the status).
 * - `catch-up-run` / `catch-up-declined`: a slot missed during downtime, run now or not (and why).
 * - `preconditions-failed`: scheduling's preconditions failed; retried with backoff.
 * - `preconditions-passed`: they passed after failing: scheduling is on.
 * - `retries-exhausted`: a failed execution the supervisor will not retry again.
 */
export const JobEventKind = Schema.Literal(
  "slot-missed",
  "misfire",
  "overlap",
  "paused",
  "start-failed",
  "catch-up-run",
  "catch-up-declined",
  "preconditions-failed",
  "preconditions-passed",
  "retries-exhausted",
)
export type JobEventKind = typeof JobEventKind.Type

/** Longest `reason` kept, in UTF-8 bytes (longer ones are cut, ending in "..."). */
export const MaxEventReasonBytes = 1024

/**
 * One decision, or a run of equal ones coalesced (the same kind and reason, one instance, written
 * together: "12 slots missed between A and B: store unreachable"): `count` occurrences from `from`
 * to `to` (the slots concerned, or the times when no slot is).
 */
export class JobEvent extends Schema.Class<JobEvent>("JobEvent")({
  /** Time-ordered: events list newest first by id, and an id is the cursor of the next page. */
  id: EventId,
  /** When it was written (at or after `to`: events wait in memory while the store is down). */
  at: Schema.DateFromSelf,
  jobType: JobType,
  kind: JobEventKind,
  /** The instance that decided. */
  instance: Schema.String,
  /** Why, for a person: "store unreachable: ...", "sales-report 0190... still holds lock sales". */
  reason: Schema.String,
  count: Schema.Int.pipe(Schema.greaterThanOrEqualTo(1)),
  from: Schema.DateFromSelf,
  to: Schema.DateFromSelf,
}) {}
