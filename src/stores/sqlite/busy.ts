import { Clock, Duration, Effect, Option, Schedule } from "effect"
import { innermostCause, StoreError } from "../../domain/Errors.js"
import { type AroundCall, LockWait } from "../../ports/StoreBounds.js"

/**
 * How long one statement may block the event loop waiting for another process' lock. better-sqlite3
 * is synchronous: SQLite's own busy handler sleeps on the main thread, so a 5 s busy timeout froze
 * timers, sockets and lease renewals for 5 s per statement, and chained statements for longer. The
 * waiting is done by `whileBusy` instead, with Effect's scheduler; this only absorbs the common
 * sub-millisecond contention between processes sharing the file without a retry.
 */
export const DefaultStatementWait = Duration.millis(10)

/** How long a store call waits in all for a lock another process holds before it fails. */
export const DefaultBusyTimeout = Duration.seconds(5)

/** SQLITE_BUSY or SQLITE_LOCKED (and their extended codes): the statement did nothing; retry it. */
export const isBusy = (error: unknown): boolean => {
  const code = (innermostCause(error) as { code?: unknown } | null | undefined)?.code
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"))
}

const realClock = Clock.make()

/** 5 ms, doubling, at most 50 ms apart, jittered so that processes sharing the file do not retry in step. */
const retries = Schedule.exponential("5 millis").pipe(
  Schedule.modifyDelay((d) => Duration.min(d, Duration.millis(50))),
  Schedule.jittered,
)

/**
 * Retries a call that found the database locked, off the event loop, for `busyTimeout` (or the
 * caller's `LockWait`, if shorter); then fails with SQLite's cause first and the fix. Safe because a
 * busy statement changed nothing, and a busy transaction is rolled back before it is retried.
 */
export const whileBusy =
  (busyTimeout: Duration.Duration): AroundCall =>
  (operation) =>
  (effect) =>
    Effect.gen(function* () {
      const wait = Option.match(yield* LockWait, {
        onNone: () => busyTimeout,
        onSome: (w) => Duration.min(w, busyTimeout),
      })
      // From the call's start, not from its first failure (a statement may itself wait statementWait).
      const deadline = (yield* realClock.currentTimeMillis) + Duration.toMillis(wait)
      return yield* effect.pipe(
        Effect.retry({
          schedule: retries,
          while: (e) => isBusy(e.cause) && realClock.unsafeCurrentTimeMillis() < deadline,
        }),
        // Waiting for another process is real time, also under a TestClock (the store's own clock
        // is passed to the statements explicitly, so this changes only the retries' timing).
        Effect.withClock(realClock),
        Effect.mapError((e) =>
          isBusy(e.cause)
            ? StoreError.of(
                operation,
                `${e.message}: another process has held the database's write lock for over ${Duration.format(wait)}; find it (fuser, lsof) and stop it, or raise busyTimeout`,
                e.cause,
              )
            : e,
        ),
      )
    })
