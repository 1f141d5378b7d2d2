import { Effect, FiberRef, Metric, Schedule } from "effect"
import { globalValue } from "effect/GlobalValue"
import { type CqlFailure, StoreError } from "../../domain/Errors.js"
import { cassandraLwtOutcomeResolved, cassandraLwtOutcomeUnknown } from "../../domain/Metrics.js"
import { describeDriverError, describeFailure, type Row, type Session } from "./Driver.js"

/**
 * Lightweight transactions whose answer may be lost. A LWT that times out after it was sent (see
 * isOutcomeUnknown) may or may not have applied, and sending it again blindly could apply it twice or
 * report our own earlier write as someone else's. So an unknown outcome is returned as such, not as a
 * failure; the caller counts it (`noteUnknown`) and resolves it with a serial read of the row, then
 * decides from what the row holds.
 */

/** A LWT's answer: applied, not applied (with the row's condition columns), or unknown (timed out). */
export type Outcome =
  | { readonly _tag: "Applied" }
  | { readonly _tag: "NotApplied"; readonly row: Row | undefined }
  | { readonly _tag: "Unknown"; readonly failure: CqlFailure }

/** Runs one LWT, never retried by the driver (not idempotent); a failure other than a timeout is a StoreError. */
export const lwt = (
  session: Session,
  operation: string,
  query: string,
  params: ReadonlyArray<unknown>,
  avoidHosts?: ReadonlyArray<string>,
): Effect.Effect<Outcome, StoreError> =>
  session.execute(query, params, { idempotent: false, avoidHosts }).pipe(
    Effect.map(
      (rs): Outcome =>
        rs.wasApplied() ? { _tag: "Applied" } : { _tag: "NotApplied", row: rs.first() ?? undefined },
    ),
    Effect.catchIf(
      (failure) => failure.outcomeUnknown,
      (failure) => Effect.succeed<Outcome>({ _tag: "Unknown", failure }),
    ),
    StoreError.refail(operation, describeFailure),
  )

/**
 * Linearizable read (SERIAL/LOCAL_SERIAL) of one row: it also completes any Paxos round still in
 * progress on the partition, so after it the outcome of an earlier, timed-out LWT is decided. With
 * `retry` (resolving an unknown outcome) it retries while the node is unreachable: the same stall
 * that timed the write out often lasts a little longer.
 */
export const serialRow = (
  session: Session,
  operation: string,
  query: string,
  params: ReadonlyArray<unknown>,
  retry: boolean,
  avoidHosts?: ReadonlyArray<string>,
): Effect.Effect<Row | undefined, StoreError> =>
  session.execute(query, params, { serialRead: true, idempotent: true, avoidHosts }).pipe(
    Effect.map((rs): Row | undefined => rs.first() ?? undefined),
    retry ? Effect.retry({ schedule: Schedule.exponential("100 millis"), times: 4 }) : (e) => e,
    StoreError.refail(operation, describeFailure),
  )

/** Counts an unknown outcome (Metrics.cassandraLwtOutcomeUnknown, tagged operation) and logs it. */
export const noteUnknown = (operation: string, subject: string, failure: CqlFailure): Effect.Effect<void> =>
  FiberRef.set(unknownMet, true).pipe(
    Effect.zipRight(Metric.increment(Metric.tagged(cassandraLwtOutcomeUnknown, "operation", operation))),
    Effect.zipRight(
      Effect.logWarning("Cassandra LWT outcome unknown; resolving it with a serial read").pipe(
        Effect.annotateLogs({ operation, subject, error: describeDriverError(failure.cause) }),
      ),
    ),
  )

/** A LWT sent again after a resolving read whose outcome is unknown again: the caller gives up. */
export const outcomeUnknown = (
  operation: string,
  subject: string,
  failure: CqlFailure,
  times = 2,
): StoreError =>
  StoreError.of(
    operation,
    `Cassandra ${operation} of ${subject} timed out ${times === 2 ? "twice" : `${times} times`}; its outcome is unknown (${describeFailure(failure, operation)})`,
    failure,
  )

/** Set by noteUnknown while a `reportResolution` operation runs: it met an unknown outcome. */
const unknownMet = globalValue(Symbol.for("effect-ha-jobs/CassandraLwt/unknownMet"), () =>
  FiberRef.unsafeMake(false),
)

/**
 * Wraps one lock operation: when it met an unknown outcome, how it ended (`resolution` of its result,
 * or "failed") is counted (Metrics.cassandraLwtOutcomeResolved, tagged operation and resolution) and
 * logged, so an operator (and the chaos suite) can see what each timeout turned out to be.
 */
export const reportResolution =
  <A>(operation: string, subject: string, resolution: (a: A) => string) =>
  <E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.locally(
      Effect.gen(function* () {
        const exit = yield* Effect.exit(self)
        if (yield* FiberRef.get(unknownMet)) {
          const resolved = exit._tag === "Success" ? resolution(exit.value) : "failed"
          yield* Metric.increment(
            Metric.tagged(
              Metric.tagged(cassandraLwtOutcomeResolved, "operation", operation),
              "resolution",
              resolved,
            ),
          )
          yield* Effect.logInfo("Cassandra LWT outcome resolved").pipe(
            Effect.annotateLogs({ operation, subject, resolution: resolved }),
          )
        }
        return yield* exit
      }),
      unknownMet,
      false,
    )
