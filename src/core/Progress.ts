/**
 * src/core (docs/architecture.md). This module: a job's `progressEvery` — at most one progress
 * status written per interval, so a job that reports progress in a tight loop does not write a row
 * (and a history entry, a Cassandra batch) per call.
 *
 * The first call writes at once. A call within the interval only keeps its content, and answers at
 * once; the newest kept content is written when the interval ends (one trailing write), so the store
 * is never more than `every` behind the job. When the execution ends, a trailing write still waiting
 * is dropped: the final status carries the last content anyway (JobRunner).
 */
import { Clock, Duration, Effect, type Scope } from "effect"
import type { StoreError } from "../domain/Errors.js"

export type WriteProgress = (content: unknown) => Effect.Effect<void, StoreError>

/** `write`, throttled to once per `every`; trailing writes run in `scope` (closed when the job ends). */
export const throttled = (
  every: Duration.Duration,
  write: WriteProgress,
  scope: Scope.Scope,
): WriteProgress => {
  const everyMs = Duration.toMillis(every)
  let lastWrite = Number.NEGATIVE_INFINITY
  let pending: { readonly content: unknown } | undefined
  let trailing = false

  const writeTrailing = Effect.gen(function* () {
    const kept = pending
    pending = undefined
    lastWrite = yield* Clock.currentTimeMillis
    trailing = false
    if (kept !== undefined) yield* write(kept.content)
  }).pipe(
    // Nobody waits for this write: a failure is logged, and the next progress (or the final status) follows.
    Effect.catchAll((e) => Effect.logWarning(`a throttled progress status was not written: ${e.message}`)),
  )

  return (content) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.suspend(() => {
        if (!trailing && now - lastWrite >= everyMs) {
          lastWrite = now
          return write(content)
        }
        pending = { content }
        if (trailing) return Effect.void
        trailing = true
        return Effect.asVoid(
          Effect.forkIn(Effect.delay(writeTrailing, Duration.millis(lastWrite + everyMs - now)), scope),
        )
      }),
    )
}
