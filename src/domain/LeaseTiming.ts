import { Duration, Either } from "effect"
import type { CompatMode } from "./Compat.js"

/**
 * How a lease is kept. The keeper renews every `renewEvery`; after a store error it retries every
 * `retryEvery`; the job is interrupted at the local deadline: the time the last *confirmed* renewal
 * was *sent*, plus `ttl`, minus `margin`. The store cannot expire the lease before sent + ttl, so the
 * margin is the time the job has to stop before anyone else can hold the lock.
 */
export interface LeaseTiming {
  readonly ttl: Duration.Duration
  readonly renewEvery: Duration.Duration
  readonly retryEvery: Duration.Duration
  readonly margin: Duration.Duration
}

export interface LeaseOptions {
  /** Lease time to live in the store. At least 1 second. Defaults to 15 seconds (60 in the ha-jobs mode). */
  readonly ttl?: Duration.DurationInput | undefined
  /** Defaults to ttl / 3. */
  readonly renewEvery?: Duration.DurationInput | undefined
  /** Defaults to ttl / 10. */
  readonly retryEvery?: Duration.DurationInput | undefined
  /** Defaults to ttl / 10. */
  readonly margin?: Duration.DurationInput | undefined
}

/**
 * The default ttl, chosen from measurement (README "Lease sizing", BENCHMARKS "Failover at the
 * defaults"): after a crash the lock type is free again within the ttl (p50 about 0.8 × ttl,
 * Cassandra up to 1 s later), under the goal of p50 ≤ 15 s and max ≤ 20 s; a renewal every 5 s
 * still rides out a stall of about 8 s (a slow store call, a held SQLite lock) before the job stops.
 */
export const DefaultLeaseTtl = Duration.seconds(15)

/** ha-jobs' lockTimeout: the default in the ha-jobs mode. */
export const HaJobsLeaseTtl = Duration.seconds(60)

/** The ttl of a job that sets none. */
export const defaultLeaseTtl = (mode: CompatMode): Duration.Duration =>
  mode === "ha-jobs" ? HaJobsLeaseTtl : DefaultLeaseTtl

export const makeLeaseTiming = (
  options: LeaseOptions = {},
  defaultTtl: Duration.Duration = DefaultLeaseTtl,
): Either.Either<LeaseTiming, string> => {
  const decode = (name: string, input: Duration.DurationInput | undefined, fallback: Duration.Duration) => {
    if (input === undefined) return Either.right(fallback)
    const d = Duration.decodeUnknown(input)
    if (d._tag === "None") return Either.left(`lease ${name} "${String(input)}" is not a duration`)
    if (!Duration.isFinite(d.value) || Duration.toMillis(d.value) <= 0)
      return Either.left(`lease ${name} must be positive and finite, got ${Duration.format(d.value)}`)
    return Either.right(d.value)
  }
  return Either.gen(function* () {
    const ttl = yield* decode("ttl", options.ttl, defaultTtl)
    const ttlMs = Duration.toMillis(ttl)
    if (ttlMs < 1000)
      return yield* Either.left(
        `lease ttl must be at least 1 second (stores keep leases in whole seconds), got ${Duration.format(ttl)}`,
      )
    const renewEvery = yield* decode("renewEvery", options.renewEvery, Duration.millis(ttlMs / 3))
    const retryEvery = yield* decode("retryEvery", options.retryEvery, Duration.millis(ttlMs / 10))
    const margin = yield* decode("margin", options.margin, Duration.millis(ttlMs / 10))
    if (Duration.toMillis(margin) >= ttlMs / 2)
      return yield* Either.left(`lease margin (${Duration.format(margin)}) must be less than half the ttl`)
    if (Duration.toMillis(renewEvery) >= ttlMs - Duration.toMillis(margin))
      return yield* Either.left(
        `lease renewEvery (${Duration.format(renewEvery)}) must be shorter than ttl minus margin (${Duration.format(Duration.millis(ttlMs - Duration.toMillis(margin)))})`,
      )
    return { ttl, renewEvery, retryEvery, margin }
  })
}
