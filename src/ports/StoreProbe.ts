import { Context, Duration, Effect, Layer } from "effect"
import type { StoreError } from "../domain/Errors.js"
import { makeJobId } from "../domain/Ids.js"
import type { JobType, LockType } from "../domain/Names.js"
import { LockRepository } from "./LockRepository.js"
import { StatusRepository } from "./StatusRepository.js"

/**
 * What the store is, for messages ("SQLite at /data/ha-jobs.db"). Store layers add it to their
 * output; a store that does not is "the store".
 */
export class StoreName extends Context.Reference<StoreName>()("effect-ha-jobs/StoreName", {
  defaultValue: () => "the store",
}) {}

/**
 * What every store layer provides: both ports, and the store's name for messages when it has one.
 * One definition, so a store cannot forget the name (/health and start-up errors print it).
 */
export const storeContext = (
  stores: {
    readonly lockRepository: LockRepository["Type"]
    readonly statusRepository: StatusRepository["Type"]
  },
  name?: string,
): Context.Context<LockRepository | StatusRepository> => {
  const ports = Context.make(LockRepository, stores.lockRepository).pipe(
    Context.add(StatusRepository, stores.statusRepository),
  )
  return name === undefined ? ports : Context.add(ports, StoreName, name)
}

/**
 * The key the probe writes. Job and lock type names start with a letter or digit, so no job can
 * ever share this lease, and the probe never writes a status.
 */
export const ProbeType = "__health__"
/** Long enough for acquire and release; if the release is lost, the lease expires by itself. */
const ProbeTtl = Duration.seconds(5)

/**
 * Whether the store can read and write: a one-row read of the statuses, then a conditional write
 * (acquire and release of the reserved lock type). A read alone passes on a read-only or locked
 * SQLite file, where every trigger fails. Leaves one idle lease row for `ProbeType` behind, the same
 * row every time. Fails with the first failing operation's StoreError.
 */
export const check = (
  locks: LockRepository["Type"],
  statuses: StatusRepository["Type"],
): Effect.Effect<void, StoreError> =>
  Effect.gen(function* () {
    yield* statuses.list(ProbeType as JobType, { limit: 1 })
    const jobId = yield* makeJobId
    const lockType = ProbeType as LockType
    const acquired = yield* locks.acquire({ lockType, jobType: ProbeType as JobType, jobId, ttl: ProbeTtl })
    // Held: another instance's probe holds it right now; the store still answered a write.
    if (acquired._tag === "Acquired") yield* locks.release({ lockType, jobId, token: acquired.token })
  })

/** The probe bound to one store, with its name; what /health runs. */
export class StoreProbe extends Context.Tag("effect-ha-jobs/StoreProbe")<
  StoreProbe,
  { readonly name: string; readonly check: Effect.Effect<void, StoreError> }
>() {}

export const layer: Layer.Layer<StoreProbe, never, LockRepository | StatusRepository> = Layer.effect(
  StoreProbe,
  Effect.gen(function* () {
    const locks = yield* LockRepository
    const statuses = yield* StatusRepository
    return { name: yield* StoreName, check: check(locks, statuses) }
  }),
)
