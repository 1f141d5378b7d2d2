import { assert } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { type JobId, makeJobId } from "../../src/domain/Ids.js"
import type { JobType, LockType } from "../../src/domain/Names.js"
import type { LockRepository } from "../../src/ports/LockRepository.js"

/**
 * After the lease of `old` (token `oldToken`) expired: another job type acquires the lock with a
 * greater token, and the old holder's renewal is "lost". Returns the new lease.
 */
export const assertTakeoverAfterExpiry = (
  locks: LockRepository["Type"],
  expired: {
    readonly lockType: LockType
    readonly other: JobType
    readonly old: JobId
    readonly oldToken: number
  },
) =>
  Effect.gen(function* () {
    const { lockType, other, old, oldToken } = expired
    const next = yield* locks.acquire({
      lockType,
      jobType: other,
      jobId: yield* makeJobId,
      ttl: Duration.seconds(30),
    })
    if (next._tag !== "Acquired") return assert.fail("not acquired after expiry")
    assert.isAbove(next.token, oldToken)
    assert.strictEqual(
      yield* locks.renew({ lockType, jobId: old, token: oldToken }, Duration.seconds(30)),
      "lost",
    )
    return next
  })
