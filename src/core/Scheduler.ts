import * as crypto from "node:crypto"
import type { Scheduler as EffectScheduler } from "effect"
import {
  Clock,
  Context,
  Deferred,
  Duration,
  Effect,
  Layer,
  Metric,
  Option,
  Ref,
  Schedule,
  ScheduleDecision,
} from "effect"
import type { CronSchedule } from "../domain/CronSchedule.js"
import { failureMessage, SchedulingPreconditionsFailed, type StoreError } from "../domain/Errors.js"
import * as JobMetrics from "../domain/Metrics.js"
import { LockRepository } from "../ports/LockRepository.js"
import { StatusRepository } from "../ports/StatusRepository.js"
import { bounded, boundLocks, boundStatuses } from "../ports/StoreBounds.js"
import { fair } from "./FairScheduler.js"
import type { ResolvedJob } from "./Job.js"
import { JobManager } from "./JobManager.js"
import { Membership } from "./Membership.js"
import * as Rendezvous from "./Rendezvous.js"
import { SlotHeap } from "./SlotHeap.js"

/** @deprecated Import it from Errors (kept here for one release). */
export { SchedulingPreconditionsFailed }

export interface SchedulerOptions {
  /** false disables cron scheduling (manual triggers keep working). Defaults to true. */
  readonly enabled?: boolean | undefined
  /** Must succeed before anything is scheduled (ha-jobs' ensureJobPreconditions). */
  readonly preconditions?: Effect.Effect<void, unknown> | undefined
  /** A slot found later than this (a paused process) is not fired; catch-up covers downtime. Defaults to 1 minute. */
  readonly misfireThreshold?: Duration.DurationInput | undefined
  /**
   * How long the instances other than a job type's preferred firer (Rendezvous.ts, over the live
   * instances: Membership) wait before they look whether a slot is claimed and claim it if not: the
   * second-ranked waits this long, every other one twice as long, both at most a quarter of the
   * slot's period. So a slot costs one conditional write while its preferred firer is alive, and
   * runs this much late when it is not. `false`: every instance claims every slot at once (one
   * conditional write per instance per slot; the store alone arbitrates). Defaults to 1 second.
   */
  readonly handoff?: Duration.DurationInput | false | undefined
  /**
   * The Effect scheduler of the cron and watch fibers and of the jobs they start. Defaults to
   * `FairScheduler.fair` (50 ms slices), so a burst of thousands of slots cannot hold back lease
   * timers for seconds; Effect's own is `Scheduler.defaultScheduler` from "effect" (FairScheduler.ts says why not).
   */
  readonly effectScheduler?: EffectScheduler.Scheduler | undefined
}

/**
 * One claim attempt waits at most this long (a hung store connection must not hold the cron loop),
 * and so do the reads that resolve the last one when it was cut off (the chaos checker's window).
 */
export const claimAttemptMs = 10_000

/**
 * When a failed slot claim is tried again: 200 ms, doubling, at most 5 s apart, as long as the next
 * attempt would start before `giveUpAt`. Outputs the delay before the next attempt.
 */
export const claimRetry = (giveUpAt: number): Schedule.Schedule<Duration.Duration> =>
  Schedule.exponential("200 millis").pipe(
    Schedule.union(Schedule.spaced("5 seconds")),
    Schedule.delays,
    Schedule.checkEffect((_, delay) =>
      Effect.map(Clock.currentTimeMillis, (now) => now + Duration.toMillis(delay) < giveUpAt),
    ),
  )

/**
 * Where scheduling stands on this instance: `retrying` while the preconditions fail (tried again
 * 1 s, 2 s, 4 s, ... at most 5 minutes apart; each failure is a `preconditions-failed` event).
 */
export type SchedulingState =
  | { readonly status: "starting" | "running" | "disabled" }
  | {
      readonly status: "retrying"
      readonly message: string
      readonly attempts: number
      readonly nextAttemptAt: Date
    }

/** The wait after the n-th failed attempt at the scheduling preconditions: 1 s, doubling, at most 5 minutes. */
export const preconditionsDelay = (attempts: number): Duration.Duration =>
  Duration.millis(Math.min(1_000 * 2 ** Math.min(attempts - 1, 20), 300_000))

/**
 * Fires cron slots: every instance schedules every cron job; each job type's preferred firer claims
 * its slots at once, the others only later and only if still free (`handoff`); the store's slot
 * claim lets each slot run once.
 */
export class Scheduler extends Context.Tag("effect-ha-jobs/Scheduler")<
  Scheduler,
  {
    /**
     * Completes once every cron job is scheduled and its catch-up decided: true, or false when
     * scheduling is disabled; fails when the preconditions failed the first time (they are tried
     * again in the background: `state`).
     */
    readonly scheduled: Effect.Effect<boolean, SchedulingPreconditionsFailed>
    /** Where scheduling stands now. */
    readonly state: Effect.Effect<SchedulingState>
    /** The next `count` slots of a job type, from now (empty for jobs without cron). */
    readonly nextRuns: (jobType: ResolvedJob, count: number) => Effect.Effect<ReadonlyArray<Date>>
  }
>() {}

export const make = (options: SchedulerOptions = {}) =>
  Effect.gen(function* () {
    const manager = yield* JobManager
    const locks = boundLocks(yield* LockRepository)
    const statuses = boundStatuses(yield* StatusRepository)
    const scope = yield* Effect.scope
    const misfireMs = Duration.toMillis(Duration.decode(options.misfireThreshold ?? "1 minute"))
    const membership = yield* Membership
    const handoffMs =
      options.handoff === false
        ? undefined
        : Duration.toMillis(Duration.decode(options.handoff ?? "1 second"))
    const scheduled = yield* Deferred.make<boolean, SchedulingPreconditionsFailed>()
    const jobs = yield* Effect.forEach(manager.jobTypes, (t) => manager.job(t)).pipe(Effect.orDie)
    const cronJobs = jobs.flatMap((job) => (Option.isSome(job.cron) ? [{ job, cron: job.cron.value }] : []))

    const countMissed = (job: ResolvedJob) =>
      Metric.increment(Metric.tagged(JobMetrics.missedSlots, "job_type", job.type))
    const event = manager.eventLog.emit

    /**
     * Claims the slot, retrying while the store is unreachable (`claimRetry`: 200 ms, doubling, at most
     * 5 s apart; each attempt bounded too) until `giveUpAt`: a short outage delays the run instead of
     * dropping it; giving up counts a missed slot and fails with the last error. An attempt under way
     * at `giveUpAt` is not cut short.
     * Every retry sends the same claim (one claim id per firing): when an earlier attempt's write
     * landed but its answer was lost, the retry finds the slot claimed by this very claim and runs
     * it. A new id per attempt would find "claimed by another" and leave the slot run by nobody.
     * Another firing of the same slot (a catch-up on this instance) has its own id: still one run.
     */
    const claim = (job: ResolvedJob, slot: number, giveUpAt: number) =>
      Effect.gen(function* () {
        const claimId = crypto.randomUUID()
        let failures = 0
        // Each attempt gets the whole claimAttemptMs, even past giveUpAt (which only stops new
        // attempts): cut short, an attempt whose write did land (a slow coordinator node) leaves the
        // slot claimed by this instance and run by none. Late, it runs late: once, never twice.
        const attempt = locks
          .claimSlot({ jobType: job.type, slot, instance: manager.instance, claimId })
          .pipe(bounded("claimSlot", Duration.millis(claimAttemptMs)))
        const retries = claimRetry(giveUpAt).pipe(
          Schedule.passthrough<Duration.Duration, StoreError, never>,
          Schedule.onDecision((error, decision) => {
            failures++
            return failures === 1 && ScheduleDecision.isContinue(decision)
              ? Effect.logWarning("claiming the slot failed; retrying").pipe(
                  Effect.annotateLogs({ error: error.message, until: new Date(giveUpAt).toISOString() }),
                )
              : Effect.void
          }),
        )
        const claimed = yield* Effect.retryOrElse(attempt, retries, (error) =>
          resolveLost(job, slot, claimId, error),
        )
        if (failures > 0) yield* Effect.logInfo(`slot claimed after ${failures} failed attempts`)
        return claimed
      })

    /**
     * The last attempt failed and there is no time for another: an attempt cut off at its bound, or
     * one whose store gave up on an unknown outcome, may still have landed. Reads of who holds the
     * slot decide: this very claim runs the slot, late; another claim means it runs elsewhere. No
     * claim, or no answer, is read again a second later until `claimAttemptMs` is spent: the store
     * does not undo an interrupted call, and a write still in flight (or a Paxos round another
     * claimant completes for it) can land after the first read. Nothing found by then is a missed
     * slot; a write landing even later is claimed by this instance and run by none.
     */
    const resolveLost = (job: ResolvedJob, slot: number, claimId: string, error: StoreError) =>
      Effect.gen(function* () {
        const until = (yield* Clock.currentTimeMillis) + claimAttemptMs
        let reads = 0
        let last = "no claim found"
        while (true) {
          const now = yield* Clock.currentTimeMillis
          if (now >= until) break
          reads++
          const read = yield* locks
            .slotClaim(job.type, slot)
            .pipe(bounded("slotClaim", Duration.millis(until - now)), Effect.either)
          if (read._tag === "Right" && Option.isSome(read.right)) {
            const mine = Option.contains(read.right.value.claimId, claimId)
            if (mine)
              yield* Effect.logInfo(
                "the claim landed though its answer was lost; running the slot late",
              ).pipe(Effect.annotateLogs({ reads }))
            return mine
          }
          last = read._tag === "Left" ? `reading the claim failed: ${read.left.message}` : "no claim found"
          yield* Effect.sleep(
            Duration.millis(Math.min(1_000, Math.max(0, until - (yield* Clock.currentTimeMillis)))),
          )
        }
        yield* Effect.logWarning("slot missed: its claim failed and no claim was found").pipe(
          Effect.annotateLogs({ reads, last, error: error.message }),
        )
        yield* event({
          jobType: job.type,
          kind: "slot-missed",
          reason: `the store did not take the slot's claim in time: ${error.message}`,
          at: slot,
        })
        return yield* Effect.zipRight(countMissed(job), Effect.fail(error))
      })

    /**
     * Until when a slot's claim is retried while the store is unreachable: at least up to the misfire
     * threshold, and, as a catch-up after downtime would (catchUp "run-once"), as long as the next
     * regular slot is more than `acceptableDelay` away; never past the next slot, which supersedes it.
     */
    const claimDeadline = (job: ResolvedJob, slot: number, next: number) =>
      Math.min(
        next,
        Math.max(
          slot + misfireMs,
          job.catchUp === "skip" ? Number.NEGATIVE_INFINITY : next - Duration.toMillis(job.acceptableDelay),
        ),
      )

    // This instance's rank per job type, for the live set it was computed from (same array: same set).
    const ranks = new Map<
      string,
      { readonly live: ReadonlyArray<string>; readonly rank: number | undefined }
    >()
    const rankOf = (job: ResolvedJob) =>
      Effect.map(membership.live, (live) => {
        const known = ranks.get(job.type)
        if (known !== undefined && known.live === live) return known.rank
        const rank = Rendezvous.rank(manager.instance, live, job.type)
        ranks.set(job.type, { live, rank })
        return rank
      })

    /**
     * True when the slot is this instance's to claim now: it is the job type's preferred firer (or
     * knows no live set), or it waited its turn (`handoff`) and the slot is still unclaimed. A read
     * that fails says nothing: the claim, which arbitrates anyway, is sent.
     */
    const myTurn = (job: ResolvedJob, slot: number, next: number) =>
      Effect.gen(function* () {
        if (handoffMs === undefined) return true
        const rank = yield* rankOf(job)
        if (rank === undefined || rank === 0) return true
        const step = Math.min(handoffMs, Math.max(0, next - slot) / 4)
        yield* Effect.sleep(Duration.millis(step * Math.min(rank, 2)))
        const claimed = yield* locks
          .slotClaim(job.type, slot, { hint: true })
          .pipe(bounded("slotClaim", Duration.millis(claimAttemptMs)), Effect.option)
        return !(Option.isSome(claimed) && Option.isSome(claimed.value))
      })

    /** Claims the slot; the claimant triggers, and records an overlap when the lock is held. */
    const fire = (
      job: ResolvedJob,
      slot: number,
      source: "cron" | "catch-up",
      giveUpAt: number,
      next = Number.POSITIVE_INFINITY,
    ) =>
      Effect.gen(function* () {
        if (source === "cron" && !(yield* myTurn(job, slot, next))) return
        if (!(yield* claim(job, slot, giveUpAt))) return
        if (source === "cron")
          yield* Metric.update(
            Metric.tagged(JobMetrics.scheduleLag, "job_type", job.type),
            (yield* Clock.currentTimeMillis) - slot,
          )
        const result = yield* manager.trigger(job.type, { source, scheduledAt: slot })
        if (result._tag === "Locked") {
          yield* Metric.increment(Metric.tagged(JobMetrics.skippedSlots, "job_type", job.type))
          yield* event({
            jobType: job.type,
            kind: "overlap",
            reason: `${result.jobType} ${result.jobId} still held lock ${job.lockType}`,
            at: slot,
          })
        } else if (result._tag === "Failed") {
          yield* Effect.logWarning(`scheduled run did not start: ${result.message}`)
          yield* event({ jobType: job.type, kind: "start-failed", reason: result.message, at: slot })
        } else if (result._tag === "Paused") {
          // Claimed, so counted once cluster-wide and never caught up later; no status row.
          yield* Metric.increment(Metric.tagged(JobMetrics.pausedSlots, "job_type", job.type))
          yield* Effect.logInfo("slot not run: the job type is paused").pipe(
            Effect.annotateLogs({ by: result.pause.by, note: result.pause.note }),
          )
          yield* event({
            jobType: job.type,
            kind: "paused",
            reason: `paused by ${result.pause.by}${result.pause.note ? `: ${result.pause.note}` : ""}`,
            at: slot,
          })
        }
      }).pipe(
        // A defect too (a driver bug, a throw in row mapping) costs this slot only, never the loop.
        Effect.catchAllCause((cause) =>
          Effect.logError("firing a cron slot failed").pipe(
            Effect.annotateLogs("error", failureMessage(cause)),
          ),
        ),
        Effect.annotateLogs({ jobType: job.type, slot: new Date(slot).toISOString() }),
      )

    const catchUp = (job: ResolvedJob, cron: CronSchedule) =>
      Effect.gen(function* () {
        if (job.catchUp === "skip") return
        const last = yield* locks.lastSlot(job.type)
        if (Option.isNone(last)) return // never scheduled before: nothing was missed
        const now = yield* Clock.currentTimeMillis
        const missed = cron.next(last.value)
        if (missed === undefined || missed >= now) return
        const upcoming = cron.next(now)
        const latestMissed = cron.previous(now + 1) ?? missed
        if (upcoming !== undefined && upcoming - now <= Duration.toMillis(job.acceptableDelay)) {
          yield* Effect.logInfo("a slot was missed during downtime; the next regular run is soon enough")
          yield* event({
            jobType: job.type,
            kind: "catch-up-declined",
            reason: `missed during downtime; the next regular run (${new Date(upcoming).toISOString()}) is within acceptableDelay ${Duration.format(job.acceptableDelay)}`,
            at: latestMissed,
          })
          return
        }
        yield* Effect.logInfo("a slot was missed during downtime; running the job now")
        yield* event({
          jobType: job.type,
          kind: "catch-up-run",
          reason: `missed during downtime (last slot claimed: ${new Date(last.value).toISOString()}); run now, once`,
          at: latestMissed,
        })
        // Claiming the missed slot makes the catch-up run once, however many instances start.
        yield* fire(job, latestMissed, "catch-up", now + misfireMs)
      }).pipe(
        Effect.catchAllCause((cause) =>
          Effect.logError("catch-up check failed").pipe(Effect.annotateLogs("error", failureMessage(cause))),
        ),
      )

    /**
     * Fires the slots of every cron job from one fiber: it waits for the earliest upcoming slot (a
     * heap), forks its firing, and puts the job type back with its next slot. A slot found past the
     * misfire threshold (the process was paused) is a misfire, not a late run.
     */
    const dispatch = Effect.gen(function* () {
      const heap = new SlotHeap<{
        readonly job: ResolvedJob
        readonly cron: CronSchedule
        readonly slot: number
      }>()
      const fromNow = yield* Clock.currentTimeMillis
      const schedule = (job: ResolvedJob, cron: CronSchedule, after: number, next = cron.next(after)) =>
        next === undefined
          ? Effect.logInfo("the cron expression fires no more").pipe(
              Effect.annotateLogs({ jobType: job.type }),
            )
          : Effect.sync(() => heap.push({ job, cron, slot: next }))
      for (const { job, cron } of cronJobs) yield* schedule(job, cron, fromNow)
      while (true) {
        const due = heap.peek()
        if (due === undefined) return
        const now = yield* Clock.currentTimeMillis
        if (due.slot > now) {
          yield* Effect.sleep(Duration.millis(due.slot - now))
          continue
        }
        heap.pop()
        const { job, cron, slot } = due
        const next = cron.next(slot)
        // Each slot fires on its own fiber: a slow or hung claim or start delays only its own slot,
        // and the next slot is claimed on time (an overlap if this one still holds or starts).
        if (now - slot <= misfireMs)
          yield* Effect.forkIn(
            fire(job, slot, "cron", claimDeadline(job, slot, next ?? Number.POSITIVE_INFINITY), next),
            scope,
          )
        else yield* misfire(job, slot, now)
        const after = Math.max(slot, now - misfireMs)
        yield* schedule(job, cron, after, after === slot ? next : undefined)
      }
    })

    const misfire = (job: ResolvedJob, slot: number, firedAt: number) =>
      Effect.gen(function* () {
        yield* countMissed(job)
        yield* Effect.logWarning(`slot ${new Date(slot).toISOString()} missed by ${firedAt - slot} ms`)
        yield* event({
          jobType: job.type,
          kind: "misfire",
          reason: `found late, past the misfire threshold of ${misfireMs} ms (the process was paused or overloaded)`,
          at: slot,
        })
      }).pipe(Effect.annotateLogs({ jobType: job.type }))

    /** Keeps a continuous job running somewhere: start it whenever its lock is free. */
    const watch = (job: ResolvedJob, every: Duration.Duration, restartDelay: Duration.Duration) =>
      Effect.gen(function* () {
        // Runs here: stopped when its job type is paused (the pause is read by who runs it only).
        const mine = (yield* manager.running).filter((e) => e.jobType === job.type)
        if (mine.length > 0) {
          if (Option.isSome(yield* manager.paused(job.type)))
            yield* Effect.forEach(mine, (e) => e.stop("paused"), { discard: true })
          return
        }
        if (Option.isSome(yield* locks.holder(job.lockType))) return
        const [latest] = yield* statuses.list(job.type, { limit: 1 })
        if (latest?.jobState === "CANCELED" && latest.reason === "cancelled") return // a user's cancel sticks
        const now = yield* Clock.currentTimeMillis
        // A job that failed by itself waits before restarting (no crash loop); a lost lease does not.
        const crashed = latest?.jobState === "FAILED" && latest.reason !== "lease lost"
        if (crashed && now - latest.jobStatusTs.getTime() < Duration.toMillis(restartDelay)) return
        const result = yield* manager.trigger(job.type, { source: "continuous" })
        if (result._tag === "Started") yield* Effect.logInfo("lock free: started the continuous job here")
      }).pipe(
        Effect.catchAllCause((cause) =>
          Effect.logWarning("watching a continuous job failed").pipe(
            Effect.annotateLogs("error", failureMessage(cause)),
          ),
        ),
        Effect.repeat(Schedule.spaced(every)),
        Effect.annotateLogs({ jobType: job.type }),
      )

    const state = yield* Ref.make<SchedulingState>({ status: "starting" })

    /**
     * Until the preconditions pass: each failure is logged, fails `scheduled` the first time, is an
     * event of every cron job type (nothing of theirs is scheduled), and is tried again later
     * (`preconditionsDelay`) instead of leaving scheduling off until a restart.
     */
    const checkPreconditions = Effect.gen(function* () {
      let attempts = 0
      while (true) {
        const ready = yield* Effect.exit(options.preconditions ?? Effect.void)
        attempts++
        if (ready._tag === "Success") break
        const message = `scheduling preconditions failed: ${failureMessage(ready.cause)}`
        const delay = preconditionsDelay(attempts)
        const nextAttemptAt = (yield* Clock.currentTimeMillis) + Duration.toMillis(delay)
        yield* Effect.logError(message).pipe(
          Effect.annotateLogs({ attempts, retryIn: Duration.format(delay) }),
        )
        if (attempts === 1) yield* Deferred.fail(scheduled, new SchedulingPreconditionsFailed({ message }))
        yield* Ref.set(state, {
          status: "retrying",
          message,
          attempts,
          nextAttemptAt: new Date(nextAttemptAt),
        })
        for (const { job } of cronJobs)
          yield* event({ jobType: job.type, kind: "preconditions-failed", reason: `${message}; retried` })
        yield* Effect.sleep(delay)
      }
      if (attempts > 1) {
        yield* Effect.logInfo("scheduling preconditions passed; scheduling starts").pipe(
          Effect.annotateLogs({ attempts }),
        )
        for (const { job } of cronJobs)
          yield* event({
            jobType: job.type,
            kind: "preconditions-passed",
            reason: `passed at attempt ${attempts}; scheduling starts`,
          })
      }
    })

    const start = Effect.gen(function* () {
      if (options.enabled === false) {
        yield* Effect.logWarning("cron scheduling is disabled; manual triggers still work")
        yield* Ref.set(state, { status: "disabled" })
        return yield* Deferred.succeed(scheduled, false)
      }
      yield* checkPreconditions
      yield* Effect.forEach(cronJobs, ({ job, cron }) => catchUp(job, cron), {
        concurrency: "unbounded",
        discard: true,
      })
      yield* Effect.forkScoped(dispatch)
      for (const job of jobs)
        if (Option.isSome(job.continuous))
          yield* Effect.forkScoped(
            watch(job, job.continuous.value.watchEvery, job.continuous.value.restartDelay),
          )
      yield* Ref.set(state, { status: "running" })
      yield* Deferred.succeed(scheduled, true)
    })
    // Every slot's fiber and every watch (and the jobs they start) inherit the fair scheduler.
    yield* Effect.forkScoped(Effect.withScheduler(start, options.effectScheduler ?? fair))

    return Scheduler.of({
      scheduled: Deferred.await(scheduled),
      state: Ref.get(state),
      nextRuns: (job, count) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          if (Option.isNone(job.cron)) return []
          const out: Array<Date> = []
          let after = now
          for (let i = 0; i < count; i++) {
            const next = job.cron.value.next(after)
            if (next === undefined) break
            out.push(new Date(next))
            after = next
          }
          return out
        }),
    })
  })

export const layer = (
  options?: SchedulerOptions,
): Layer.Layer<Scheduler, never, JobManager | Membership | LockRepository | StatusRepository> =>
  Layer.scoped(Scheduler, make(options))
