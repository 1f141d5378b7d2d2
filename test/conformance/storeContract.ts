import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, type Layer, Option, Schema } from "effect"
import { v7 } from "uuid"
import { type AuditAction, AuditEntry, MaxAuditDetailBytes } from "../../src/domain/Audit.js"
import {
  AuditId,
  EventId,
  type HistoryCursor,
  type JobId,
  makeAuditId,
  makeEventId,
  makeJobId,
  timestampOf,
} from "../../src/domain/Ids.js"
import { JobEvent, type JobEventKind, MaxEventReasonBytes } from "../../src/domain/JobEvent.js"
import type { JobState } from "../../src/domain/JobState.js"
import type { JobStatus } from "../../src/domain/JobStatus.js"
import type { JobType, LockType } from "../../src/domain/Names.js"
import { inForce, MaxNoteBytes, Pause } from "../../src/domain/Pause.js"
import { LockRepository } from "../../src/ports/LockRepository.js"
import { StatusRepository } from "../../src/ports/StatusRepository.js"
import { assertTakeoverAfterExpiry } from "../support/locks.js"
import { statusOf } from "../support/statuses.js"

/** How the contract reaches one store. */
export interface StoreHarness {
  readonly name: string
  /** Both repositories. Each test uses fresh names, so one store may serve every test. */
  readonly layer: Layer.Layer<LockRepository | StatusRepository, unknown>
  /** Lets the store's time pass: TestClock for stores on Effect's clock, real time for server TTLs. */
  readonly advance: (d: Duration.DurationInput) => Effect.Effect<void>
  /** Run on real time (stores whose expiry is server-side). */
  readonly live: boolean
  readonly timeout?: number
}

let counter = 0
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`
const names = () => {
  const base = unique("c")
  return {
    lockType: `${base}-lock` as LockType,
    jobType: `${base}-job` as JobType,
    other: `${base}-other` as JobType,
  }
}

/** A pause as the store returned it equals `expected`: every field, times to the millisecond. */
const assertPause = (actual: Option.Option<Pause>, expected: Pause, message?: string) => {
  if (Option.isNone(actual)) return assert.fail(`${message ?? "pause"}: none, expected one`)
  assert.instanceOf(actual.value, Pause)
  const fields = (p: Pause) => ({
    jobType: p.jobType,
    note: p.note,
    by: p.by,
    instance: p.instance,
    since: p.since.getTime(),
    until: Option.getOrNull(Option.map(p.until, (d) => d.getTime())),
    blockManual: p.blockManual,
  })
  assert.deepStrictEqual(fields(actual.value), fields(expected), message)
}

/** A clock standing at `millis` (only for making ids: it never sleeps). */
const clockAt = (millis: number): Clock.Clock => ({
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  unsafeCurrentTimeMillis: () => millis,
  currentTimeMillis: Effect.succeed(millis),
  unsafeCurrentTimeNanos: () => BigInt(millis) * 1_000_000n,
  currentTimeNanos: Effect.succeed(BigInt(millis) * 1_000_000n),
  sleep: () => Effect.never,
})

/**
 * An entry made by makeAuditId on a clock at `millis`, `at` its id's time (makeAuditId never makes an
 * id older than one this process made before, so the id is the time's or a little later).
 */
const auditEntryAt = (
  millis: number,
  fields: { readonly jobType: JobType; readonly action?: AuditAction; readonly outcome?: string },
) =>
  Effect.map(
    makeAuditId.pipe(Effect.withClock(clockAt(millis))),
    (id) =>
      new AuditEntry({
        id,
        at: new Date(timestampOf(id)),
        instance: "host-a",
        action: fields.action ?? "trigger",
        jobType: fields.jobType,
        identity: "token",
        detail: "",
        outcome: fields.outcome ?? "started",
      }),
  )

/**
 * An entry whose id is a version 7 UUID of `at` exactly, as makeAuditId made it then: makeAuditId
 * itself cannot go back to a time before the ids this process has already made.
 */
const pastAuditEntry = (at: number, jobType: JobType) =>
  new AuditEntry({
    id: Schema.decodeSync(AuditId)(v7({ msecs: at })),
    at: new Date(at),
    instance: "host-a",
    action: "cancel",
    jobType,
    identity: "anonymous",
    detail: "",
    outcome: "no change",
  })

/** An audit entry's fields, `at` in milliseconds: what must read back exactly. */
const auditFields = (e: AuditEntry) => ({ ...e, at: e.at.getTime() })

const idsOf = (entries: ReadonlyArray<AuditEntry>) => entries.map((e) => e.id)

/**
 * An event made by makeEventId on a clock at `millis`, `at` its id's time, about the minute before
 * (like auditEntryAt: the id is the time's or a little later).
 */
const eventAt = (
  millis: number,
  fields: { readonly jobType: JobType; readonly kind?: JobEventKind; readonly reason?: string },
) =>
  Effect.map(makeEventId.pipe(Effect.withClock(clockAt(millis))), (id) => {
    const at = timestampOf(id)
    return new JobEvent({
      id,
      at: new Date(at),
      jobType: fields.jobType,
      kind: fields.kind ?? "slot-missed",
      instance: "host-a",
      reason: fields.reason ?? "store unreachable",
      count: 1,
      from: new Date(at - 60_000),
      to: new Date(at - 1_000),
    })
  })

/** An event whose id is a version 7 UUID of `at` exactly (like pastAuditEntry). */
const pastEvent = (at: number, jobType: JobType) =>
  new JobEvent({
    id: Schema.decodeSync(EventId)(v7({ msecs: at })),
    at: new Date(at),
    jobType,
    kind: "misfire",
    instance: "host-a",
    reason: "found 90 s late",
    count: 1,
    from: new Date(at),
    to: new Date(at),
  })

/** A job event's fields, times in milliseconds: what must read back exactly. */
const eventFields = (e: JobEvent) => ({
  ...e,
  at: e.at.getTime(),
  from: e.from.getTime(),
  to: e.to.getTime(),
})

const eventIdsOf = (events: ReadonlyArray<JobEvent>) => events.map((e) => e.id)

/** The store contract: every store passes this file unchanged. */
export const storeContract = (harness: StoreHarness) => {
  const test = harness.live ? it.live : it.effect
  const run = <A, E>(name: string, body: Effect.Effect<A, E, LockRepository | StatusRepository>) =>
    test(name, () => body.pipe(Effect.provide(harness.layer)) as Effect.Effect<A, unknown>, harness.timeout)

  describe(`store contract: ${harness.name}`, () => {
    describe("leases", () => {
      run(
        "acquire takes a free lock; a second owner finds it held and learns the holder",
        Effect.gen(function* () {
          const locks = yield* LockRepository
          const { lockType, jobType, other } = names()
          const a = yield* makeJobId
          const b = yield* makeJobId
          const first = yield* locks.acquire({ lockType, jobType, jobId: a, ttl: Duration.seconds(30) })
          assert.strictEqual(first._tag, "Acquired")
          const second = yield* locks.acquire({
            lockType,
            jobType: other,
            jobId: b,
            ttl: Duration.seconds(30),
          })
          assert.deepStrictEqual(second, {
            _tag: "Held",
            holder: { lockType, jobType, jobId: a, token: first._tag === "Acquired" ? first.token : -1 },
          })
          assert.deepStrictEqual(
            Option.map(yield* locks.holder(lockType), (h) => h.jobId),
            Option.some(a),
          )
        }),
      )

      run(
        "lease: the holder and its time left by the store's clock; none once released",
        Effect.gen(function* () {
          const locks = yield* LockRepository
          const { lockType, jobType } = names()
          const jobId = yield* makeJobId
          assert.isTrue(Option.isNone(yield* locks.lease(lockType)))
          const acquired = yield* locks.acquire({ lockType, jobType, jobId, ttl: Duration.seconds(30) })
          if (acquired._tag !== "Acquired") return assert.fail("not acquired")
          const lease = yield* locks.lease(lockType)
          if (Option.isNone(lease)) return assert.fail("no lease")
          assert.deepStrictEqual(lease.value.holder, { lockType, jobType, jobId, token: acquired.token })
          // Up to the ttl (a store of whole seconds may round up by one and add its margin of one).
          assert.isAbove(lease.value.expiresInMs, 0)
          assert.isAtMost(lease.value.expiresInMs, 32_000)
          assert.isTrue(yield* locks.release({ lockType, jobId, token: acquired.token }))
          assert.isTrue(Option.isNone(yield* locks.lease(lockType)))
        }),
      )

      run(
        "renew succeeds only for the holder with its token",
        Effect.gen(function* () {
          const locks = yield* LockRepository
          const { lockType, jobType } = names()
          const jobId = yield* makeJobId
          const acquired = yield* locks.acquire({ lockType, jobType, jobId, ttl: Duration.seconds(30) })
          if (acquired._tag !== "Acquired") return assert.fail("not acquired")
          const key = { lockType, jobId, token: acquired.token }
          assert.strictEqual(yield* locks.renew(key, Duration.seconds(30)), "renewed")
          assert.strictEqual(
            yield* locks.renew({ ...key, jobId: yield* makeJobId }, Duration.seconds(30)),
            "lost",
          )
          assert.strictEqual(
            yield* locks.renew({ ...key, token: key.token + 1 }, Duration.seconds(30)),
            "lost",
          )
          assert.strictEqual(yield* locks.renew(key, Duration.seconds(30)), "renewed")
        }),
      )

      run(
        "release frees the lock only for its holder",
        Effect.gen(function* () {
          const locks = yield* LockRepository
          const { lockType, jobType } = names()
          const jobId = yield* makeJobId
          const acquired = yield* locks.acquire({ lockType, jobType, jobId, ttl: Duration.seconds(30) })
          if (acquired._tag !== "Acquired") return assert.fail("not acquired")
          const key = { lockType, jobId, token: acquired.token }
          assert.isFalse(yield* locks.release({ ...key, jobId: yield* makeJobId }))
          assert.isTrue(Option.isSome(yield* locks.holder(lockType)))
          assert.isTrue(yield* locks.release(key))
          assert.isTrue(Option.isNone(yield* locks.holder(lockType)))
          assert.isFalse(yield* locks.release(key))
          assert.strictEqual(yield* locks.renew(key, Duration.seconds(30)), "lost")
        }),
      )

      run(
        "fencing tokens strictly increase over acquisitions of a lock type",
        Effect.gen(function* () {
          const locks = yield* LockRepository
          const { lockType, jobType } = names()
          const tokens: Array<number> = []
          for (let i = 0; i < 5; i++) {
            const jobId = yield* makeJobId
            const acquired = yield* locks.acquire({ lockType, jobType, jobId, ttl: Duration.seconds(30) })
            if (acquired._tag !== "Acquired") return assert.fail("not acquired")
            tokens.push(acquired.token)
            yield* locks.release({ lockType, jobId, token: acquired.token })
          }
          for (let i = 1; i < tokens.length; i++) assert.isAbove(tokens[i]!, tokens[i - 1]!)
        }),
      )

      run(
        "an expired lease frees the lock; the next owner gets a greater token; the old one cannot renew",
        Effect.gen(function* () {
          const locks = yield* LockRepository
          const { lockType, jobType, other } = names()
          const old = yield* makeJobId
          const first = yield* locks.acquire({ lockType, jobType, jobId: old, ttl: Duration.seconds(1) })
          if (first._tag !== "Acquired") return assert.fail("not acquired")
          yield* harness.advance("2500 millis")
          assert.isTrue(Option.isNone(yield* locks.holder(lockType)))
          yield* assertTakeoverAfterExpiry(locks, { lockType, other, old, oldToken: first.token })
          assert.isFalse(yield* locks.release({ lockType, jobId: old, token: first.token }))
        }),
      )

      run(
        "a renewal keeps the lease alive past its first ttl",
        Effect.gen(function* () {
          const locks = yield* LockRepository
          const { lockType, jobType } = names()
          const jobId = yield* makeJobId
          const acquired = yield* locks.acquire({ lockType, jobType, jobId, ttl: Duration.seconds(3) })
          if (acquired._tag !== "Acquired") return assert.fail("not acquired")
          const key = { lockType, jobId, token: acquired.token }
          yield* harness.advance("1500 millis")
          assert.strictEqual(yield* locks.renew(key, Duration.seconds(3)), "renewed")
          yield* harness.advance("2000 millis")
          assert.deepStrictEqual(
            Option.map(yield* locks.holder(lockType), (h) => h.jobId),
            Option.some(jobId),
          )
        }),
      )

      run(
        "a cancel request reaches the holder of that job type at its next renewal",
        Effect.gen(function* () {
          const locks = yield* LockRepository
          const { lockType, jobType, other } = names()
          assert.isTrue(Option.isNone(yield* locks.requestCancel(lockType, jobType)))
          const jobId = yield* makeJobId
          const acquired = yield* locks.acquire({ lockType, jobType, jobId, ttl: Duration.seconds(30) })
          if (acquired._tag !== "Acquired") return assert.fail("not acquired")
          const key = { lockType, jobId, token: acquired.token }
          // Another job type sharing the lock is not what runs: nothing to cancel.
          assert.isTrue(Option.isNone(yield* locks.requestCancel(lockType, other)))
          assert.strictEqual(yield* locks.renew(key, Duration.seconds(30)), "renewed")
          const asked = yield* locks.requestCancel(lockType, jobType)
          assert.deepStrictEqual(
            Option.map(asked, (h) => h.jobId),
            Option.some(jobId),
          )
          assert.strictEqual(yield* locks.renew(key, Duration.seconds(30)), "cancel-requested")
          // Still ours until released: nobody else can take it meanwhile.
          const rival = yield* locks.acquire({
            lockType,
            jobType,
            jobId: yield* makeJobId,
            ttl: Duration.seconds(30),
          })
          assert.strictEqual(rival._tag, "Held")
          assert.isTrue(yield* locks.release(key))
          // The next owner starts without the old request.
          const nextId = yield* makeJobId
          const next = yield* locks.acquire({ lockType, jobType, jobId: nextId, ttl: Duration.seconds(30) })
          if (next._tag !== "Acquired") return assert.fail("not acquired")
          assert.strictEqual(
            yield* locks.renew({ lockType, jobId: nextId, token: next.token }, Duration.seconds(30)),
            "renewed",
          )
        }),
      )
    })

    describe("cron slots", () => {
      run(
        "a slot is claimed once, whoever asks; the last slot is remembered per job type",
        Effect.gen(function* () {
          const locks = yield* LockRepository
          const { jobType, other } = names()
          assert.isTrue(Option.isNone(yield* locks.lastSlot(jobType)))
          const slot = 1_800_000_000_000
          const claim = (instance: string, claimId: string, at = slot, type = jobType) =>
            locks.claimSlot({ jobType: type, slot: at, instance, claimId })
          assert.isTrue(yield* claim("a", "a-1"))
          assert.isFalse(yield* claim("b", "b-1"))
          // The same instance firing the slot again (a catch-up) is another claim.
          assert.isFalse(yield* claim("a", "a-2"))
          assert.isTrue(yield* claim("b", "b-2", slot, other))
          assert.isTrue(yield* claim("b", "b-3", slot + 10_000))
          assert.isTrue(yield* claim("b", "b-4", slot - 10_000))
          assert.deepStrictEqual(yield* locks.lastSlot(jobType), Option.some(slot + 10_000))
        }),
      )

      run(
        "a claim sent again (its first answer lost) is still the winner; no other claim becomes one",
        Effect.gen(function* () {
          const locks = yield* LockRepository
          const { jobType } = names()
          const slot = 1_800_000_000_000
          const claim = (instance: string, claimId: string) =>
            locks.claimSlot({ jobType, slot, instance, claimId })
          assert.isTrue(yield* claim("a", "a-1"))
          // A retry of a claim whose write landed: answering false would leave the slot run by nobody.
          assert.isTrue(yield* claim("a", "a-1"))
          assert.isTrue(yield* claim("a", "a-1"))
          assert.isFalse(yield* claim("b", "b-1"))
          assert.isFalse(yield* claim("a", "a-2"))
          assert.isTrue(yield* claim("a", "a-1"))
        }),
      )

      run(
        "who claimed a slot reads back as the winning claim, unchanged by later claims",
        Effect.gen(function* () {
          const locks = yield* LockRepository
          const { jobType, other } = names()
          const slot = 1_800_000_000_000
          assert.isTrue(Option.isNone(yield* locks.slotClaim(jobType, slot)))
          assert.isTrue(yield* locks.claimSlot({ jobType, slot, instance: "a", claimId: "a-1" }))
          assert.isFalse(yield* locks.claimSlot({ jobType, slot, instance: "b", claimId: "b-1" }))
          const expected = Option.some({ instance: "a", claimId: Option.some("a-1") })
          assert.deepStrictEqual(yield* locks.slotClaim(jobType, slot), expected)
          // A hint (the scheduler's look before a backup claim) sees a decided claim too.
          assert.deepStrictEqual(yield* locks.slotClaim(jobType, slot, { hint: true }), expected)
          // Per job type and per slot: nothing leaks to a neighbour.
          assert.isTrue(Option.isNone(yield* locks.slotClaim(other, slot)))
          assert.isTrue(Option.isNone(yield* locks.slotClaim(jobType, slot + 1000)))
          assert.isTrue(Option.isNone(yield* locks.slotClaim(jobType, slot + 1000, { hint: true })))
        }),
      )

      run(
        "racing claims of one slot: exactly one wins",
        Effect.gen(function* () {
          const locks = yield* LockRepository
          const { jobType } = names()
          for (let round = 0; round < 5; round++) {
            const slot = 1_800_000_000_000 + round * 1000
            const wins = yield* Effect.forEach(
              ["a", "b", "c", "d"],
              (instance) => locks.claimSlot({ jobType, slot, instance, claimId: `${instance}-${round}` }),
              { concurrency: "unbounded" },
            )
            assert.strictEqual(wins.filter(Boolean).length, 1)
          }
        }),
      )
    })

    describe("pauses", () => {
      run(
        "a pause is kept until resumed; pausing again replaces it and returns the one it replaced",
        Effect.gen(function* () {
          const locks = yield* LockRepository
          const { jobType } = names()
          assert.isTrue(Option.isNone(yield* locks.paused(jobType)))
          const first = new Pause({
            jobType,
            note: "deploying the new schema",
            by: "alice",
            instance: "host-a",
            since: new Date(1_800_000_000_123),
            until: Option.some(new Date(1_800_003_600_456)),
            blockManual: true,
          })
          assert.isTrue(Option.isNone(yield* locks.pause(first)), "nothing replaced")
          assertPause(yield* locks.paused(jobType), first, "paused")
          const second = new Pause({
            jobType,
            note: "",
            by: "bob",
            instance: "host-b",
            since: new Date(1_800_000_060_789),
            until: Option.none(),
            blockManual: false,
          })
          assertPause(yield* locks.pause(second), first, "replaced")
          assertPause(yield* locks.paused(jobType), second, "paused again")
          assertPause(yield* locks.resume(jobType), second, "resumed")
          assert.isTrue(Option.isNone(yield* locks.paused(jobType)), "not paused after resume")
          assert.isTrue(Option.isNone(yield* locks.resume(jobType)), "a second resume ends nothing")
        }),
      )

      run(
        "job types are paused independently",
        Effect.gen(function* () {
          const locks = yield* LockRepository
          const { jobType, other } = names()
          const pause = new Pause({
            jobType,
            note: "maintenance",
            by: "alice",
            instance: "host-a",
            since: new Date(1_800_000_000_000),
            until: Option.none(),
            blockManual: false,
          })
          yield* locks.pause(pause)
          assert.isTrue(Option.isNone(yield* locks.paused(other)))
          assert.isTrue(Option.isNone(yield* locks.resume(other)))
          assertPause(yield* locks.paused(jobType), pause, "the other's resume left it paused")
        }),
      )

      run(
        "a pause past its until is still stored: the store does not filter by time",
        Effect.gen(function* () {
          const locks = yield* LockRepository
          const { jobType } = names()
          const over = new Pause({
            jobType,
            note: "an hour, long ago",
            by: "alice",
            instance: "host-a",
            since: new Date(1_700_000_000_000),
            until: Option.some(new Date(1_700_003_600_000)),
            blockManual: true,
          })
          yield* locks.pause(over)
          const stored = yield* locks.paused(jobType)
          assertPause(stored, over, "paused")
          assert.isFalse(inForce(Option.getOrThrow(stored), Date.now()), "no longer in force")
          assertPause(yield* locks.resume(jobType), over, "resumed")
        }),
      )

      run(
        `a note of ${MaxNoteBytes} bytes of multi-byte UTF-8 round-trips exactly`,
        Effect.gen(function* () {
          const locks = yield* LockRepository
          const { jobType } = names()
          // 2-byte and 4-byte (a surrogate pair in JavaScript) characters, exactly at the limit.
          const note = `${"é".repeat((MaxNoteBytes - 8) / 2)}😀🚀`
          assert.strictEqual(Buffer.byteLength(note, "utf8"), MaxNoteBytes)
          const pause = new Pause({
            jobType,
            note,
            by: "zoë",
            instance: "host-a",
            since: new Date(1_800_000_000_001),
            until: Option.none(),
            blockManual: false,
          })
          yield* locks.pause(pause)
          const stored = yield* locks.paused(jobType)
          assertPause(stored, pause, "paused")
          assert.strictEqual(Option.getOrThrow(stored).note, note)
        }),
      )
    })

    describe("statuses", () => {
      run(
        "listPending: only executions whose latest status is PENDING, newest first, paged",
        Effect.gen(function* () {
          const statuses = yield* StatusRepository
          const { jobType } = names()
          const pending: Array<JobId> = []
          for (let i = 0; i < 12; i++) {
            const jobId = yield* makeJobId
            yield* statuses.save(yield* statusOf(jobType, jobId, "RUNNING", 1_000 + i))
            if (i % 3 === 0) yield* statuses.save(yield* statusOf(jobType, jobId, "FINISHED", 2_000 + i))
            else if (i % 3 === 1) yield* statuses.save(yield* statusOf(jobType, jobId, "RUNNING", 2_000 + i))
            if (i % 3 !== 0) pending.push(jobId)
          }
          const newestFirst = [...pending].reverse()
          const page1 = yield* statuses.listPending(jobType, { limit: 5 })
          assert.deepStrictEqual(
            page1.map((s) => s.jobId),
            newestFirst.slice(0, 5),
          )
          assert.isTrue(page1.every((s) => s.jobResult === "PENDING"))
          const page2 = yield* statuses.listPending(jobType, { limit: 5, before: page1[4]!.jobId })
          assert.deepStrictEqual(
            page2.map((s) => s.jobId),
            newestFirst.slice(5),
          )
          // A pending execution that ends leaves the pending list.
          yield* statuses.save(yield* statusOf(jobType, newestFirst[0]!, "DEAD", 3_000))
          assert.deepStrictEqual(
            (yield* statuses.listPending(jobType, { limit: 100 })).map((s) => s.jobId),
            newestFirst.slice(1),
          )
        }),
      )

      run(
        "a saved status reads back equal, with every field",
        Effect.gen(function* () {
          const statuses = yield* StatusRepository
          const { jobType } = names()
          const jobId = yield* makeJobId
          const full = yield* statusOf(jobType, jobId, "WARNING", 1_700_000_000_123, {
            content: { count: 3, items: ["a", { b: null }], ok: true, ratio: 0.5, text: "<img src=x>" },
            fencingToken: 42,
            attempt: 2,
            triggerSource: "retry",
            reason: "2 rows rejected",
            scheduledAt: new Date(1_700_000_000_000),
            params: { day: "2026-11-01", dryRun: false, ids: [1, 2] },
            instance: "host-1:123",
          })
          yield* statuses.save(full)
          assert.deepStrictEqual(yield* statuses.get(jobType, jobId), Option.some(full))
          const bare = yield* statusOf(jobType, yield* makeJobId, "RUNNING", 5)
          yield* statuses.save(bare)
          assert.deepStrictEqual(yield* statuses.get(jobType, bare.jobId), Option.some(bare))
        }),
      )

      run(
        "history keeps every status of an execution, newest first; get returns the latest",
        Effect.gen(function* () {
          const statuses = yield* StatusRepository
          const { jobType } = names()
          const jobId = yield* makeJobId
          const states: Array<JobState> = ["RUNNING", "RUNNING", "RUNNING", "FINISHED"]
          const written: Array<JobStatus> = []
          for (const [i, state] of states.entries()) {
            const s = yield* statusOf(jobType, jobId, state, 1_000 + i, { content: { step: i } })
            written.push(s)
            yield* statuses.save(s)
          }
          const all = yield* statuses.history(jobType, jobId, { limit: 100 })
          assert.deepStrictEqual(all.statuses, [...written].reverse())
          assert.isTrue(Option.isNone(all.next))
          const two = yield* statuses.history(jobType, jobId, { limit: 2 })
          assert.deepStrictEqual(two.statuses, [written[3]!, written[2]!])
          assert.isTrue(Option.isSome(two.next))
          assert.deepStrictEqual(yield* statuses.get(jobType, jobId), Option.some(written[3]!))
        }),
      )

      run(
        "history pages by cursor: every status once, even with statuses appended between pages",
        Effect.gen(function* () {
          const statuses = yield* StatusRepository
          const { jobType } = names()
          const jobId = yield* makeJobId
          const written: Array<JobStatus> = []
          const append = (i: number) =>
            Effect.gen(function* () {
              const s = yield* statusOf(jobType, jobId, "RUNNING", 1_000 + i, { content: { step: i } })
              written.push(s)
              yield* statuses.save(s)
            })
          for (let i = 0; i < 7; i++) yield* append(i)
          const seen: Array<JobStatus> = []
          let page = yield* statuses.history(jobType, jobId, { limit: 3 })
          seen.push(...page.statuses)
          // Progress written while someone pages: it belongs before the first page, not in a later one.
          yield* append(7)
          let pages = 1
          while (Option.isSome(page.next)) {
            page = yield* statuses.history(jobType, jobId, { limit: 3, before: page.next.value })
            seen.push(...page.statuses)
            pages++
          }
          assert.strictEqual(pages, 3)
          assert.deepStrictEqual(seen, written.slice(0, 7).reverse())
          // An exact fit ends without an empty page after it.
          const first = yield* statuses.history(jobType, jobId, { limit: 4 })
          const rest = yield* statuses.history(jobType, jobId, {
            limit: 4,
            before: Option.getOrThrow(first.next),
          })
          assert.strictEqual(rest.statuses.length, 4)
          assert.isTrue(Option.isNone(rest.next))
        }),
      )

      run(
        "history refuses a cursor of another store's kind as InvalidInput",
        Effect.gen(function* () {
          const statuses = yield* StatusRepository
          const { jobType } = names()
          const jobId = yield* makeJobId
          for (let i = 0; i < 3; i++)
            yield* statuses.save(yield* statusOf(jobType, jobId, "RUNNING", 1_000 + i))
          const own = Option.getOrThrow((yield* statuses.history(jobType, jobId, { limit: 1 })).next)
          // The other kind: an integer where this store makes UUIDs, a UUID where it makes integers.
          const foreign = (/^\d+$/.test(own) ? yield* makeJobId : "12") as string as HistoryCursor
          const refused = yield* Effect.flip(statuses.history(jobType, jobId, { limit: 1, before: foreign }))
          assert.strictEqual(refused._tag, "InvalidInput")
        }),
      )

      run(
        "list: latest status per execution, newest execution first, limited and paged by cursor",
        Effect.gen(function* () {
          const statuses = yield* StatusRepository
          const { jobType, other } = names()
          const ids: Array<JobId> = []
          for (let i = 0; i < 25; i++) {
            const jobId = yield* makeJobId
            ids.push(jobId)
            yield* statuses.save(yield* statusOf(jobType, jobId, "RUNNING", 1_000 + i))
            yield* statuses.save(yield* statusOf(jobType, jobId, "FINISHED", 2_000 + i))
          }
          yield* statuses.save(yield* statusOf(other, yield* makeJobId, "RUNNING", 1))
          const newestFirst = [...ids].reverse()
          const page1 = yield* statuses.list(jobType, { limit: 10 })
          assert.deepStrictEqual(
            page1.map((s) => s.jobId),
            newestFirst.slice(0, 10),
          )
          assert.isTrue(page1.every((s) => s.jobState === "FINISHED"))
          const page2 = yield* statuses.list(jobType, { limit: 10, before: page1[9]!.jobId })
          assert.deepStrictEqual(
            page2.map((s) => s.jobId),
            newestFirst.slice(10, 20),
          )
          const page3 = yield* statuses.list(jobType, { limit: 10, before: page2[9]!.jobId })
          assert.deepStrictEqual(
            page3.map((s) => s.jobId),
            newestFirst.slice(20),
          )
          assert.strictEqual((yield* statuses.list(other, { limit: 100 })).length, 1)
        }),
      )

      run(
        "unknown executions and job types read as empty",
        Effect.gen(function* () {
          const statuses = yield* StatusRepository
          const { jobType } = names()
          assert.deepStrictEqual(yield* statuses.list(jobType, { limit: 10 }), [])
          assert.isTrue(Option.isNone(yield* statuses.get(jobType, yield* makeJobId)))
          const none = yield* statuses.history(jobType, yield* makeJobId, { limit: 10 })
          assert.deepStrictEqual(none, { statuses: [], next: Option.none() })
        }),
      )
    })

    describe("audit log", () => {
      run(
        "newest id first, paged by the last id; of one job type only that type's, paged too",
        Effect.gen(function* () {
          const statuses = yield* StatusRepository
          const { jobType, other } = names()
          // One store may serve the whole contract (a server, other test files too): what it held
          // before these entries, all older, lists after them (nothing, in a store of its own).
          const held = idsOf(yield* statuses.auditLog({ limit: 10 }))
          const start = Date.now()
          const written: Array<AuditEntry> = []
          for (let i = 0; i < 25; i++) {
            const entry = yield* auditEntryAt(start + i, { jobType: i % 2 === 0 ? jobType : other })
            written.push(entry)
            yield* statuses.record(entry)
          }
          for (let i = 1; i < written.length; i++) assert.isTrue(written[i]!.id > written[i - 1]!.id)
          const newestFirst = [...idsOf(written)].reverse()
          const expected = [...newestFirst, ...held]
          const page1 = yield* statuses.auditLog({ limit: 10 })
          assert.deepStrictEqual(idsOf(page1), expected.slice(0, 10))
          const page2 = yield* statuses.auditLog({ limit: 10, before: page1[9]!.id })
          assert.deepStrictEqual(idsOf(page2), expected.slice(10, 20))
          const page3 = yield* statuses.auditLog({ limit: 10, before: page2[9]!.id })
          assert.deepStrictEqual(idsOf(page3), expected.slice(20, 30))
          assert.deepStrictEqual(idsOf(yield* statuses.auditLog({ limit: 10, before: written[0]!.id })), held)

          // Of one job type: its 13 entries, 10 then 3, then none.
          const ofType = newestFirst.filter((_, i) => i % 2 === 0)
          assert.strictEqual(ofType.length, 13)
          const typed1 = yield* statuses.auditLog({ jobType, limit: 10 })
          assert.deepStrictEqual(idsOf(typed1), ofType.slice(0, 10))
          assert.isTrue(typed1.every((e) => e.jobType === jobType))
          const typed2 = yield* statuses.auditLog({ jobType, limit: 10, before: typed1[9]!.id })
          assert.deepStrictEqual(idsOf(typed2), ofType.slice(10))
          assert.deepStrictEqual(yield* statuses.auditLog({ jobType, limit: 10, before: typed2[2]!.id }), [])
          // A cursor may be any entry's id, another type's too.
          assert.deepStrictEqual(
            idsOf(yield* statuses.auditLog({ jobType, limit: 3, before: written[13]!.id })),
            idsOf([written[12]!, written[10]!, written[8]!]),
          )
          assert.deepStrictEqual(
            idsOf(yield* statuses.auditLog({ jobType: other, limit: 100 })),
            newestFirst.filter((_, i) => i % 2 === 1),
          )
        }),
      )

      run(
        `every field reads back exactly: the time to the millisecond, a detail of ${MaxAuditDetailBytes} bytes of multi-byte UTF-8, an empty one`,
        Effect.gen(function* () {
          const statuses = yield* StatusRepository
          const { jobType } = names()
          assert.deepStrictEqual(yield* statuses.auditLog({ jobType, limit: 10 }), [])
          // 2-byte and 4-byte (a surrogate pair in JavaScript) characters, exactly at the limit.
          const detail = `${"é".repeat((MaxAuditDetailBytes - 8) / 2)}😀🚀`
          assert.strictEqual(Buffer.byteLength(detail, "utf8"), MaxAuditDetailBytes)
          // A time with milliseconds: one stored in whole seconds would not read back equal.
          let millis = Date.now()
          if (millis % 1000 === 0) millis++
          const pause = yield* auditEntryAt(millis, { jobType })
          const full = new AuditEntry({
            id: pause.id,
            at: pause.at,
            instance: "host-b:4242",
            action: "pause",
            jobType,
            identity: "zoë",
            detail,
            outcome: "paused",
          })
          const resume = yield* auditEntryAt(millis + 1, { jobType })
          const bare = new AuditEntry({
            id: resume.id,
            at: resume.at,
            instance: "host-a",
            jobType,
            action: "resume",
            identity: "anonymous",
            detail: "",
            outcome: "no change",
          })
          yield* statuses.record(full)
          yield* statuses.record(bare)
          // The same entry recorded again (a retry whose first answer was lost) is kept once.
          yield* statuses.record(full)
          const read = yield* statuses.auditLog({ jobType, limit: 10 })
          assert.strictEqual(read.length, 2)
          for (const e of read) assert.instanceOf(e, AuditEntry)
          assert.deepStrictEqual(read.map(auditFields), [auditFields(bare), auditFields(full)])
          assert.strictEqual(read[1]!.detail, detail)
        }),
      )

      run(
        "entries days apart list newest first across the days, of one job type and of all",
        Effect.gen(function* () {
          const statuses = yield* StatusRepository
          const { jobType } = names()
          const day = 86_400_000
          const now = Date.now()
          const entries = [now - 3 * day, now - day, now].map((at) => pastAuditEntry(at, jobType))
          for (const e of entries) yield* statuses.record(e)
          const newestFirst = [...idsOf(entries)].reverse()
          assert.deepStrictEqual(idsOf(yield* statuses.auditLog({ jobType, limit: 10 })), newestFirst)
          // One a page: each next page starts in another day.
          const paged: Array<AuditId> = []
          let before: AuditId | undefined
          for (let page = 0; page < 3; page++) {
            const got = yield* statuses.auditLog({ jobType, limit: 1, before })
            assert.strictEqual(got.length, 1, `page ${page + 1}`)
            paged.push(got[0]!.id)
            before = got[0]!.id
          }
          assert.deepStrictEqual(paged, newestFirst)
          assert.deepStrictEqual(yield* statuses.auditLog({ jobType, limit: 1, before }), [])
          // The log of all job types: the same order (other tests' entries may lie between them).
          const all = idsOf(yield* statuses.auditLog({ limit: 1000 }))
          for (let i = 1; i < all.length; i++) assert.isTrue(all[i - 1]! > all[i]!, "newest id first")
          const ours = new Set<string>(newestFirst)
          assert.deepStrictEqual(
            all.filter((id) => ours.has(id)),
            newestFirst,
          )
        }),
      )
    })

    describe("instances", () => {
      run(
        "announce keeps each instance's last heartbeat, stamped by the store's clock; instances lists them",
        Effect.gen(function* () {
          const statuses = yield* StatusRepository
          const { jobType: a, other: b } = names()
          const startedAt = new Date(Date.now() - 60_000)
          yield* statuses.announce({ instance: a, startedAt, everyMs: 10_000 })
          yield* statuses.announce({ instance: b, startedAt, everyMs: 5_000 })
          const first = yield* statuses.instances
          const mine = (all: typeof first) =>
            all.instances.filter((i) => i.instance === a || i.instance === b)
          assert.deepStrictEqual(
            mine(first).map((i) => [i.instance, i.startedAt.getTime(), i.everyMs]),
            [
              [a, startedAt.getTime(), 10_000],
              [b, startedAt.getTime(), 5_000],
            ].sort(([x], [y]) => ((x as string) < (y as string) ? -1 : 1)),
          )
          // Seen by the store's clock, not after the store's now; not long before it either.
          for (const i of mine(first)) {
            assert.isAtMost(i.seenAt.getTime(), first.now.getTime() + 1)
            assert.isBelow(first.now.getTime() - i.seenAt.getTime(), 60_000)
          }
          const before = mine(first)
            .find((i) => i.instance === a)!
            .seenAt.getTime()
          yield* statuses.announce({ instance: a, startedAt, everyMs: 20_000 })
          const again = mine(yield* statuses.instances).filter((i) => i.instance === a)
          assert.strictEqual(again.length, 1)
          assert.strictEqual(again[0]!.everyMs, 20_000)
          assert.isAtLeast(again[0]!.seenAt.getTime(), before)
        }),
      )
    })

    describe("job events", () => {
      run(
        "one job type's events, newest id first, paged by the last id without gaps or repeats",
        Effect.gen(function* () {
          const statuses = yield* StatusRepository
          const { jobType, other } = names()
          const start = Date.now()
          const written: Array<JobEvent> = []
          for (let i = 0; i < 25; i++) {
            const event = yield* eventAt(start + i, { jobType: i % 2 === 0 ? jobType : other })
            written.push(event)
            yield* statuses.recordEvent(event)
          }
          for (let i = 1; i < written.length; i++) assert.isTrue(written[i]!.id > written[i - 1]!.id)
          const newestFirst = [...eventIdsOf(written)].reverse()
          // Its 13 events, 10 then 3, then none: the other type's are never listed.
          const ofType = newestFirst.filter((_, i) => i % 2 === 0)
          assert.strictEqual(ofType.length, 13)
          const page1 = yield* statuses.events({ jobType, limit: 10 })
          assert.deepStrictEqual(eventIdsOf(page1), ofType.slice(0, 10))
          assert.isTrue(page1.every((e) => e.jobType === jobType))
          const page2 = yield* statuses.events({ jobType, limit: 10, before: page1[9]!.id })
          assert.deepStrictEqual(eventIdsOf(page2), ofType.slice(10))
          assert.deepStrictEqual(yield* statuses.events({ jobType, limit: 10, before: page2[2]!.id }), [])
          // A cursor may be any event's id, another type's too.
          assert.deepStrictEqual(
            eventIdsOf(yield* statuses.events({ jobType, limit: 3, before: written[13]!.id })),
            eventIdsOf([written[12]!, written[10]!, written[8]!]),
          )
          assert.deepStrictEqual(
            eventIdsOf(yield* statuses.events({ jobType: other, limit: 100 })),
            newestFirst.filter((_, i) => i % 2 === 1),
          )
        }),
      )

      run(
        `every field reads back exactly: times to the millisecond, a reason of ${MaxEventReasonBytes} bytes of multi-byte UTF-8; recorded again under its id, replaced (one row)`,
        Effect.gen(function* () {
          const statuses = yield* StatusRepository
          const { jobType, other } = names()
          assert.deepStrictEqual(yield* statuses.events({ jobType, limit: 10 }), [])
          // 2-byte and 4-byte (a surrogate pair in JavaScript) characters, exactly at the limit.
          const reason = `${"é".repeat((MaxEventReasonBytes - 8) / 2)}😀🚀`
          assert.strictEqual(Buffer.byteLength(reason, "utf8"), MaxEventReasonBytes)
          // Times with milliseconds: one stored in whole seconds would not read back equal.
          let millis = Date.now()
          if (millis % 1000 === 0) millis++
          const first = yield* eventAt(millis, { jobType })
          const full = new JobEvent({
            id: first.id,
            at: first.at,
            jobType,
            kind: "slot-missed",
            instance: "host-b:4242",
            reason,
            count: 12,
            from: new Date(millis - 3_600_123),
            to: new Date(millis - 60_007),
          })
          const second = yield* eventAt(millis + 1, { jobType })
          const bare = new JobEvent({
            id: second.id,
            at: second.at,
            jobType,
            kind: "preconditions-passed",
            instance: "host-a",
            reason: "",
            count: 1,
            from: second.at,
            to: second.at,
          })
          // Recorded first with a smaller count: a coalesced event grows under its id (JobEvents).
          yield* statuses.recordEvent(new JobEvent({ ...full, count: 3, to: full.from, at: full.from }))
          yield* statuses.recordEvent(bare)
          // Recorded again: replaced, one row (a retry whose first answer was lost is the same).
          yield* statuses.recordEvent(full)
          yield* statuses.recordEvent(full)
          // Another job type's event is not this one's.
          yield* statuses.recordEvent(yield* eventAt(millis + 2, { jobType: other }))
          const read = yield* statuses.events({ jobType, limit: 10 })
          assert.strictEqual(read.length, 2)
          for (const e of read) assert.instanceOf(e, JobEvent)
          assert.deepStrictEqual(read.map(eventFields), [eventFields(bare), eventFields(full)])
          assert.strictEqual(read[1]!.reason, reason)
          assert.strictEqual((yield* statuses.events({ jobType: other, limit: 10 })).length, 1)
        }),
      )

      run(
        "events days apart list newest first across the days, one a page",
        Effect.gen(function* () {
          const statuses = yield* StatusRepository
          const { jobType } = names()
          const day = 86_400_000
          const now = Date.now()
          const written = [now - 3 * day, now - day, now].map((at) => pastEvent(at, jobType))
          for (const e of written) yield* statuses.recordEvent(e)
          const newestFirst = [...eventIdsOf(written)].reverse()
          assert.deepStrictEqual(eventIdsOf(yield* statuses.events({ jobType, limit: 10 })), newestFirst)
          // Each next page starts in another day.
          const paged: Array<EventId> = []
          let before: EventId | undefined
          for (let page = 0; page < 3; page++) {
            const got = yield* statuses.events({ jobType, limit: 1, before })
            assert.strictEqual(got.length, 1, `page ${page + 1}`)
            paged.push(got[0]!.id)
            before = got[0]!.id
          }
          assert.deepStrictEqual(paged, newestFirst)
          assert.deepStrictEqual(yield* statuses.events({ jobType, limit: 1, before }), [])
        }),
      )
    })
  })
}
