/**
 * Reads what a chaos run recorded (the ledger's JSON lines, the faults, the statuses: the SQLite file,
 * or store.json exported from Cassandra or PostgreSQL) and counts violations of the guarantees. Every
 * count must be zero to pass.
 *
 *   npx tsx chaos/check.ts <run directory>
 */
import * as fs from "node:fs"
import * as path from "node:path"
import Database from "better-sqlite3"
import { claimAttemptMs } from "../src/core/Scheduler.js"
import type { FloodFigures } from "./flood.js"
import type { LedgerEntry } from "./ledger.js"
import type { Crash, Fault, Incarnation, LwtEvent } from "./run.js"

export interface CheckOptions {
  readonly dir: string
  readonly leaseMs: number
  readonly deadAfterMs: number
  /** false when a worker had to be killed at the end (its executions may stay PENDING). */
  readonly shutdownClean?: boolean | undefined
}

export interface Violations {
  /**
   * An execution that sent a write attempt (accepted or refused) after a newer execution of its lock
   * type had made its first one, with no pause or event-loop stall of its process and no store stall
   * around that attempt (those are fencing's job, counted in ledger.overlapAfterPause).
   */
  overlap: number
  /** An acquisition of a lock type whose token is not greater than the one before (ledger), or a token shared by two executions (store). */
  tokenNotIncreasing: number
  /** A write the ledger accepted although a newer token had written before (replayed from its log). */
  staleAccepted: number
  /** A cron slot with two executions (store), two executions writing for it (ledger), or fired twice (a run and an overlap event, or two overlap events). */
  slotRunTwice: number
  /** A cron slot with no execution while a worker was healthy and the store reachable. */
  slotMissed: number
  /** An execution still PENDING after the supervisor's grace and a graceful shutdown. */
  pendingAfterGrace: number
  /** A worker that did not stop within 20 s of SIGTERM. */
  shutdownHung: number
  /** A worker that exited by itself (an uncaught error, a crash in a driver): the process must survive store faults. */
  workerCrashed: number
}

export interface CheckReport {
  readonly passed: boolean
  readonly violations: Violations
  readonly details: Array<string>
  readonly faults: Record<string, number>
  readonly sabotage: string | null
  readonly ledger: {
    attempts: number
    accepted: number
    staleRefused: number
    staleRefusedAfterPauseOrStall: number
    staleRefusedOtherwise: number
    /** Attempts sent after a newer execution began, excused by a pause, event-loop stall or store stall. */
    overlapAfterPause: number
  }
  /**
   * Self-fencing margin, ms: when the next execution's acquire call returned in its worker minus
   * the last write attempt of the execution before it (one that did not end normally), leaving out
   * attempts in a pause or event-loop stall of its process. Must be > 0.
   */
  readonly margin: { n: number; min: number; p01: number; p50: number }
  /** The largest |Effect Clock - real time| a job saw when writing (the clock-skew fault at work), ms. */
  readonly clockSkewMs: number
  readonly executions: Record<string, number>
  readonly cronSlots: { checked: number; ran: number; excused: number }
  /** Failover of the continuous job after a fault on its holder, ms (and / lease). */
  readonly failover: Record<
    "kill" | "pause" | "killNodeDown",
    { samples: Array<number>; p50: number; max: number }
  >
  /**
   * Cassandra LWTs whose outcome was unknown (a timeout after sending) and how the lock operation
   * that met it ended (the workers' "Cassandra LWT outcome unknown / resolved" logs), by the fault
   * under way when it happened ("none" outside every fault window).
   */
  readonly lwt: Record<string, { unknown: number; resolved: Record<string, number> }>
  /**
   * Cron slots owed while a cluster fault left a quorum up (one node down, frozen or cut off): those
   * that ran, and those missed without the excuse of a fault on their worker (counted in slotMissed
   * too). All must run.
   */
  readonly quorumUpSlots: { due: number; ran: number }
  /**
   * The floods of the HTTP API (chaos/flood.ts), summed: connections, /events streams admitted and
   * refused (503), other requests and those answered 2xx, connection errors, requests unanswered when
   * the flood ended, the slowest /health answer; and of the floods of the continuous job's holder,
   * those during which (or within a lease after) a newer token of the job wrote: a lease lost under
   * the flood, not a violation by itself (fencing and the overlap check judge what followed).
   */
  readonly flood: Omit<FloodFigures, "port" | "ms" | "otherStatus"> & {
    n: number
    ofHolder: number
    holderLostLease: number
    /** Answers other than 200/503 on /events and 2xx elsewhere, all paths together. */
    otherStatus: number
  }
  /**
   * Renewals of the continuous job's lease (worker reports): the time from one renewal call's start
   * to the next one's of the same execution (nominal: lease / 3), and the longest store call, while
   * its holder was flooded and outside every fault window; and renewals that found the lease lost
   * (or failed) during a flood.
   */
  readonly renewals: {
    flood: { gaps: number; p50: number; max: number; longestCallMs: number; lostOrFailed: number }
    quiet: { gaps: number; p50: number; max: number; longestCallMs: number }
  }
  readonly leaseMs: number
  readonly durationMs: number
}

/**
 * A fault that makes the store unavailable, not one on a worker: a stall, a terminate storm
 * (PostgreSQL), a restart, two of three Cassandra nodes down (no quorum). A cluster fault that leaves
 * a quorum up (one node killed, frozen or cut off) excuses nothing: the store must keep working.
 */
const storeFault = (f: Fault) =>
  f.kind === "stall" || f.kind === "terminate" || f.kind === "restart" || f.kind === "two-down"
/** One Cassandra node down, frozen or cut off: two replicas of three still answer. */
export const quorumUpFault = (f: Fault) =>
  f.kind === "node-kill" ||
  f.kind === "node-pause" ||
  f.kind === "node-partition" ||
  f.kind === "client-partition"

/**
 * How long before a fault on a slot's claimant its unrun slot is excused: a claim may be under way
 * for the scheduler's whole bound and then its resolving read's (Scheduler: claimAttemptMs each), so a
 * claimant killed or frozen that long after the slot may have claimed it and not started it yet.
 * Runs are at most once per slot: a slot claimed by a process that dies before starting it is not
 * run again (docs/guarantees.md). Any other worker gets 2 s (it must have fired the slot by then).
 */
export const claimantWindowMs = 2 * claimAttemptMs

/**
 * Whether `inc` was hit by a fault on itself (a flood excepted: its process is up and its event loop
 * runs) or on the store around real time `r`: from `before` ms ahead of the fault's start until 1 s
 * after its end.
 */
export const hitAround = (
  faults: ReadonlyArray<Fault>,
  inc: { readonly pid: number | undefined },
  r: number,
  before: number,
) =>
  faults.some(
    (f) =>
      (storeFault(f) || (f.kind !== "flood" && f.pid === inc.pid)) &&
      f.start - before <= r &&
      r <= f.end + 1_000,
  )

export const percentile = (values: ReadonlyArray<number>, p: number) => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

export interface ExecutionRow {
  job_type: string
  job_id: string
  lock_type: string
  job_state: string
  job_result: string
  job_status_ts: number
  fencing_token: number | null
  scheduled_at: number | null
  trigger_source: string
  instance: string | null
}

/** An overlap event (JobEvent kind "overlap"): `count` slots from `from` to `to` skipped, the lock held. */
export interface OverlapRow {
  job_type: string
  count: number
  from: number
  to: number
}

/** The slots of chaos-cron that overlap events account for. */
export const overlappedSlots = (overlaps: ReadonlyArray<OverlapRow>): Set<number> =>
  new Set(overlaps.flatMap(slotsOfOverlap))

/** The chaos-cron slots one overlap event covers (see overlappedSlots). */
export const slotsOfOverlap = (o: OverlapRow): Array<number> => {
  if (o.job_type !== "chaos-cron") return []
  // One slot each (JobEvents does not coalesce overlaps); a coalesced one would name its ends only.
  return o.from === o.to ? [o.from] : [o.from, o.to]
}

/** The statuses, slot claims and overlaps: store.json (exported from Cassandra or PostgreSQL by chaos/run.ts) or chaos.db. */
const readStore = (dir: string) => {
  const exported = path.join(dir, "store.json")
  if (fs.existsSync(exported)) {
    const x = JSON.parse(fs.readFileSync(exported, "utf8")) as {
      executions: Array<ExecutionRow>
      slots: Array<{ job_type: string; slot: number; instance: string }>
      overlaps?: Array<OverlapRow>
    }
    return {
      executions: x.executions,
      slots: x.slots.filter((s) => s.job_type === "chaos-cron"),
      overlaps: x.overlaps ?? [],
    }
  }
  const conn = new Database(path.join(dir, "chaos.db"), { readonly: true, fileMustExist: true })
  const executions = conn.prepare("SELECT * FROM ha_executions").all() as Array<ExecutionRow>
  const slots = conn
    .prepare("SELECT job_type, slot, instance FROM ha_slots WHERE job_type = 'chaos-cron'")
    .all() as Array<{
    slot: number
    instance: string
  }>
  const overlaps = conn
    .prepare(
      'SELECT job_type, count, from_at AS "from", to_at AS "to" FROM ha_events WHERE kind = \'overlap\'',
    )
    .all() as Array<OverlapRow>
  conn.close()
  return { executions, slots, overlaps }
}

export const check = (options: CheckOptions): CheckReport => {
  const { dir, leaseMs } = options
  const run = JSON.parse(fs.readFileSync(path.join(dir, "faults.json"), "utf8")) as {
    options?: { sabotage?: string | null }
    faults: Array<Fault>
    incarnations?: Array<Incarnation>
    crashes?: Array<Crash>
    quietEnd: number
    started: number
    lwt?: Array<LwtEvent>
  }
  const faults = run.faults
  const crashes = run.crashes ?? []
  // JSON has no Infinity: a worker not (yet) ready or not ended is written as null.
  const incarnations = (run.incarnations ?? []).map((i) => ({
    ...i,
    ready: i.ready ?? Number.POSITIVE_INFINITY,
    ended: i.ended ?? Number.POSITIVE_INFINITY,
  }))
  const all = fs
    .readFileSync(path.join(dir, "ledger.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as LedgerEntry)
    .sort((a, b) => a.seq - b.seq)
  const store = readStore(dir)
  const { executions, slots } = store
  const overlapped = overlappedSlots(store.overlaps)

  const v: Violations = {
    overlap: 0,
    tokenNotIncreasing: 0,
    staleAccepted: 0,
    slotRunTwice: 0,
    slotMissed: 0,
    pendingAfterGrace: 0,
    shutdownHung: options.shutdownClean === false ? 1 : 0,
    workerCrashed: crashes.length,
  }
  const details: Array<string> = []
  const note = (what: string) => details.length < 50 && details.push(what)
  for (const c of crashes)
    note(`worker ${c.instance} crashed at ${new Date(c.at).toISOString()} (${c.exit}): ${c.error}`)

  const acquisitions = new Map<string, LedgerEntry>()
  for (const e of all) if (e.kind === "acquire") acquisitions.set(`${e.lockType}#${e.jobId}`, e)
  const entries = all.filter((e) => e.kind !== "acquire" && e.kind !== "renew")

  // A pause (SIGSTOP) or an event-loop stall of the writer, or a store fault (a stall, a storm of
  // terminated connections, a restart) around an attempt: the writer could not stop itself in time, so its stale write is the fencing token's to
  // refuse. An event-loop stall freezes the keeper exactly as a SIGSTOP does. The window reaches one
  // lease past the fault, for the resumed process to notice its loss on a loaded machine.
  const within = (f: Fault, e: LedgerEntry) =>
    (f.start <= e.sentAt && e.sentAt <= f.end + leaseMs) || (f.start <= e.at && e.at <= f.end + leaseMs)
  const pausedItself = (e: LedgerEntry) =>
    faults.some((f) => (f.kind === "pause" || f.kind === "busy") && f.pid === e.pid && within(f, e))
  const excusedAttempt = (e: LedgerEntry) =>
    pausedItself(e) || faults.some((f) => storeFault(f) && within(f, e))

  // 1. Replay the ledger with the rule a fenced resource must follow: was every accepted write legit?
  const newest = new Map<string, LedgerEntry>()
  const refusedOtherwise = new Map<string, Array<LedgerEntry>>()
  let staleRefused = 0
  let refusedExcused = 0
  for (const e of entries) {
    const last = newest.get(e.lockType)
    const legit =
      last === undefined || e.token > last.token || (e.token === last.token && e.jobId === last.jobId)
    if (legit) newest.set(e.lockType, e)
    if (e.accepted) {
      if (!legit) {
        v.staleAccepted++
        note(
          `stale write accepted: ${e.lockType} token ${e.token} (${e.jobId} on ${e.instance}) after ${last?.token} (${last?.jobId})`,
        )
      }
    } else {
      staleRefused++
      if (excusedAttempt(e)) refusedExcused++
      else refusedOtherwise.set(e.jobId, [...(refusedOtherwise.get(e.jobId) ?? []), e])
    }
  }
  for (const [jobId, es] of refusedOtherwise)
    note(
      `${es.length} stale write(s) refused without a pause or stall: ${es[0]!.instance} ${es[0]!.lockType} token ${es[0]!.token} (${jobId}) from ${es[0]!.at} to ${es.at(-1)!.at}`,
    )

  // 2. Executions as their write attempts show them (accepted or not): none may write once a newer
  // one has begun, and tokens increase in the order of acquisition.
  interface Execution {
    readonly lockType: string
    readonly jobId: string
    readonly token: number
    readonly attempts: Array<LedgerEntry>
    /**
     * When its worker's acquire call began and returned (the store decided in between; the holder
     * can act no earlier than the return); without a report, its first attempt's sentAt for both.
     */
    readonly acquireCalled: number
    readonly acquiredAt: number
    ended: boolean
  }
  const byLock = new Map<string, Map<string, Execution>>()
  for (const e of entries) {
    const m = byLock.get(e.lockType) ?? new Map<string, Execution>()
    byLock.set(e.lockType, m)
    let x = m.get(e.jobId)
    if (!x) {
      x = {
        lockType: e.lockType,
        jobId: e.jobId,
        token: e.token,
        attempts: [],
        acquireCalled: acquisitions.get(`${e.lockType}#${e.jobId}`)?.sentAt ?? e.sentAt,
        acquiredAt: acquisitions.get(`${e.lockType}#${e.jobId}`)?.acquiredAt ?? e.sentAt,
        ended: false,
      }
      m.set(e.jobId, x)
    }
    x.attempts.push(e)
    if (e.kind === "end") x.ended = true
  }
  let overlapAfterPause = 0
  const margins: Array<number> = []
  for (const [lockType, m] of byLock) {
    const byToken = [...m.values()].sort((a, b) => a.token - b.token)
    // The earliest first attempt (ledger time) of any execution with a greater token.
    const newerBegan = new Array<number>(byToken.length).fill(Number.POSITIVE_INFINITY)
    for (let i = byToken.length - 2; i >= 0; i--)
      newerBegan[i] = Math.min(newerBegan[i + 1]!, byToken[i + 1]!.attempts[0]!.at)
    for (let i = 0; i < byToken.length; i++) {
      const x = byToken[i]!
      const late = x.attempts.filter((e) => e.sentAt > newerBegan[i]!)
      const unexcused = late.filter((e) => !excusedAttempt(e))
      overlapAfterPause += late.length - unexcused.length
      if (unexcused.length > 0) {
        v.overlap++
        const e = unexcused[0]!
        note(
          `overlap on ${lockType}: ${x.jobId} (token ${x.token}, ${e.instance}) wrote ${unexcused.length} time(s) after a newer execution began, first ${e.sentAt - newerBegan[i]!} ms after (${e.accepted ? "accepted" : "refused"})`,
        )
      }
      const next = byToken[i + 1]
      // A release at the graceful shutdown is a normal end too.
      if (next && !x.ended && next.acquiredAt < run.quietEnd) {
        const last = x.attempts.filter((e) => !pausedItself(e)).at(-1)
        if (last) {
          const margin = next.acquiredAt - last.sentAt
          margins.push(margin)
          if (margin <= 0)
            note(
              `self-fencing margin ${margin} ms on ${lockType}: ${x.jobId} (token ${x.token}, ${last.instance}) wrote after token ${next.token} was acquired`,
            )
        }
      }
    }
    // Only acquisitions certainly in order are compared: one whose call began after another's returned.
    const byReturn = [...m.values()].sort((a, b) => a.acquiredAt - b.acquiredAt)
    const maxTokenSoFar: Array<number> = []
    for (const x of byReturn) maxTokenSoFar.push(Math.max(maxTokenSoFar.at(-1) ?? 0, x.token))
    for (const y of m.values()) {
      let lo = 0
      let hi = byReturn.length
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if (byReturn[mid]!.acquiredAt < y.acquireCalled) lo = mid + 1
        else hi = mid
      }
      const before = lo === 0 ? 0 : maxTokenSoFar[lo - 1]!
      if (lo > 0 && y.token <= before) {
        v.tokenNotIncreasing++
        note(`token not increasing on ${lockType}: ${y.token} acquired after token ${before} was`)
      }
    }
  }
  // ... and in the store: no two executions of a lock type with one token.
  const tokens = new Map<string, string>()
  for (const x of executions) {
    if (x.fencing_token === null || x.job_state === "SKIPPED") continue
    const key = `${x.lock_type}#${x.fencing_token}`
    if (tokens.has(key)) {
      v.tokenNotIncreasing++
      note(`store: token ${x.fencing_token} of ${x.lock_type} on ${tokens.get(key)} and ${x.job_id}`)
    } else tokens.set(key, x.job_id)
  }

  // 3. Cron slots: at most once, and none missed while some worker was healthy and the store reachable.
  const cron = executions.filter((x) => x.job_type === "chaos-cron" && x.scheduled_at !== null)
  const perSlot = new Map<number, Array<ExecutionRow>>()
  for (const x of cron) perSlot.set(x.scheduled_at!, [...(perSlot.get(x.scheduled_at!) ?? []), x])
  for (const [slot, xs] of perSlot)
    if (xs.length > 1) {
      v.slotRunTwice++
      note(
        `slot ${new Date(slot).toISOString()} has ${xs.length} executions: ${xs.map((x) => x.job_state).join(", ")}`,
      )
    }
  // Fired more than once: every firing of a slot runs it or records an overlap, and the slot claim
  // lets one instance fire it. A run and an overlap of one slot, or two overlaps, are two firings
  // (without the claim, the instances that lose the lock race only overlap).
  const firings = new Map<number, number>()
  for (const [slot, xs] of perSlot) firings.set(slot, xs.length)
  for (const o of store.overlaps)
    for (const slot of slotsOfOverlap(o)) firings.set(slot, (firings.get(slot) ?? 0) + 1)
  for (const [slot, n] of firings)
    if (n > 1 && (perSlot.get(slot)?.length ?? 0) <= 1) {
      v.slotRunTwice++
      note(`slot ${new Date(slot).toISOString()} fired ${n} times (executions and overlap events)`)
    }
  const ledgerSlots = new Map<number, Set<string>>()
  for (const e of entries)
    if (e.lockType === "chaos-cron" && e.scheduledAt !== null && e.kind === "start")
      ledgerSlots.set(e.scheduledAt, (ledgerSlots.get(e.scheduledAt) ?? new Set()).add(e.jobId))
  for (const [slot, ids] of ledgerSlots)
    if (ids.size > 1 && (perSlot.get(slot)?.length ?? 0) <= 1) {
      v.slotRunTwice++
      note(`slot ${new Date(slot).toISOString()} written by ${ids.size} executions`)
    }
  const claimedBy = new Map(slots.map((s) => [s.slot, s.instance]))
  const firstCron = Math.min(...cron.map((x) => x.scheduled_at!))
  const lastSlot = Math.floor((run.quietEnd - 2_000) / 1000) * 1000
  let checked = 0
  let ran = 0
  let excused = 0
  const quorumUpSlots = { due: 0, ran: 0 }
  for (let slot = firstCron; slot <= lastSlot; slot += 1000) {
    checked++
    // Owed while a quorum was up: run, or missed without an excuse (a slot whose worker was hit is
    // excused below as anywhere else).
    // (on the real time the claimant, or else any worker, fired it: its clock may be off)
    const claimantOffset =
      incarnations.find((inc) => inc.instance === claimedBy.get(slot))?.clockOffsetMs ?? 0
    const quorumUp = faults.some(
      (f) => quorumUpFault(f) && f.start <= slot - claimantOffset && slot - claimantOffset <= f.end,
    )
    // Run, or skipped because the previous run still held the lock (an overlap event): accounted for.
    if (perSlot.has(slot) || overlapped.has(slot)) {
      ran++
      if (quorumUp) {
        quorumUpSlots.due++
        quorumUpSlots.ran++
      }
      continue
    }
    // A worker whose clock runs `offset` ahead fires the slot at real time slot - offset: the slot is
    // owed only if some incarnation was up and untouched by a fault (or a store fault) then, and its
    // claimant (if any) was not hit while its claim could still be under way (claimantWindowMs).
    const owed = incarnations.some((inc) => {
      const r = slot - inc.clockOffsetMs
      return inc.ready + 1_000 <= r && r <= inc.ended - 1_000 && !hitAround(faults, inc, r, 2_000)
    })
    const claimant = claimedBy.get(slot)
    const claimantInc = incarnations.find((inc) => inc.instance === claimant)
    const excuse =
      !owed ||
      (claimantInc !== undefined &&
        hitAround(faults, claimantInc, slot - claimantInc.clockOffsetMs, claimantWindowMs))
    if (excuse) excused++
    else {
      if (quorumUp) quorumUpSlots.due++
      v.slotMissed++
      note(`slot ${new Date(slot).toISOString()} missed (claimed by ${claimant ?? "nobody"})`)
    }
  }

  // 4. Nothing PENDING after the supervisor's grace and the graceful shutdown.
  for (const x of executions)
    if (x.job_result === "PENDING") {
      v.pendingAfterGrace++
      note(
        `still PENDING: ${x.job_type} ${x.job_id} (${x.job_state} from ${x.instance} at ${new Date(x.job_status_ts).toISOString()})`,
      )
    }

  // Failover of the continuous job after a fault on its holder: first accepted write of a newer token.
  // A kill of the holder while a Cassandra node was down (within a node-kill fault) apart.
  const failover = {
    kill: [] as Array<number>,
    pause: [] as Array<number>,
    killNodeDown: [] as Array<number>,
  }
  for (const f of faults) {
    if ((f.kind !== "kill" && f.kind !== "pause") || f.holderToken === undefined) continue
    const next = entries.find(
      (e) => e.accepted && e.lockType === f.holderLockType && e.token > f.holderToken! && e.at >= f.start,
    )
    if (next) failover[f.nodeDown ? "killNodeDown" : f.kind].push(next.at - f.start)
  }

  // Unknown LWT outcomes, by the fault under way (the latest to begin before it, within a lease after its end).
  const lwt: CheckReport["lwt"] = {}
  for (const e of run.lwt ?? []) {
    const during = faults.filter((f) => f.start <= e.at && e.at <= f.end + leaseMs && !f.nodeDown).at(-1)
    const key = during?.kind ?? "none"
    const x = lwt[key] ?? { unknown: 0, resolved: {} }
    lwt[key] = x
    const how = `${e.operation} ${e.resolution}`
    if (e.kind === "unknown") x.unknown++
    else x.resolved[how] = (x.resolved[how] ?? 0) + 1
  }
  const dist = (s: Array<number>) => ({ samples: s, p50: percentile(s, 50), max: Math.max(...s) })

  const count = <K extends string>(keys: ReadonlyArray<K>) =>
    Object.fromEntries(keys.map((k) => [k, 0])) as Record<string, number>
  const faultCounts = count([
    "kill",
    "pause",
    "busy",
    ...(faults.some(quorumUpFault) ? [] : ["stall"]),
    ...(faults.some((f) => f.kind === "terminate") ? ["terminate"] : []),
    "flood",
    ...(faults.some((f) => f.kind === "restart") ? ["restart"] : []),
    ...(faults.some(quorumUpFault)
      ? ["node-kill", "node-pause", "node-partition", "client-partition", "two-down"]
      : []),
  ])
  for (const f of faults) faultCounts[f.kind]! += 1
  faultCounts["kill of the continuous holder"] = faults.filter(
    (f) => f.kind === "kill" && f.holderToken !== undefined && !f.nodeDown,
  ).length
  if (faults.some((f) => f.nodeDown))
    faultCounts["kill of the continuous holder with a node down"] = faults.filter(
      (f) => f.kind === "kill" && f.holderToken !== undefined && f.nodeDown,
    ).length
  faultCounts["pause of the continuous holder"] = faults.filter(
    (f) => f.kind === "pause" && f.holderToken !== undefined,
  ).length

  const floods = faults.filter((f) => f.kind === "flood")
  const sum = (pick: (x: NonNullable<Fault["flood"]>) => number) =>
    floods.reduce((n, f) => n + (f.flood ? pick(f.flood) : 0), 0)
  const ofHolder = floods.filter((f) => f.holderToken !== undefined)
  const flood = {
    n: floods.length,
    ofHolder: ofHolder.length,
    holderLostLease: ofHolder.filter((f) =>
      entries.some(
        (e) =>
          e.lockType === f.holderLockType &&
          e.token > f.holderToken! &&
          f.start <= e.at &&
          e.at <= f.end + leaseMs,
      ),
    ).length,
    attempts: sum((x) => x.attempts),
    admitted: sum((x) => x.admitted),
    refused: sum((x) => x.refused),
    requests: sum((x) => x.requests),
    requestsOk: sum((x) => x.requestsOk),
    otherStatus: sum((x) => Object.values(x.otherStatus).reduce((a, b) => a + b, 0)),
    errors: sum((x) => x.errors),
    unanswered: sum((x) => x.unanswered),
    health: sum((x) => x.health),
    healthOk: sum((x) => x.healthOk),
    healthSlowestMs: floods.reduce((m, f) => Math.max(m, f.flood?.healthSlowestMs ?? 0), 0),
    clientLoopMaxMs: floods.reduce((m, f) => Math.max(m, f.flood?.clientLoopMaxMs ?? 0), 0),
  }

  // Renewal gaps of the continuous lease: during a flood of the renewing process, and far from any fault.
  const renewals = all.filter((e) => e.kind === "renew" && e.lockType === "chaos-continuous")
  const renewsOf = new Map<string, Array<LedgerEntry>>()
  for (const e of renewals) renewsOf.set(e.jobId, [...(renewsOf.get(e.jobId) ?? []), e])
  const overlaps = (f: Fault, from: number, to: number) => f.start <= to && from <= f.end
  const gapsFlood: Array<number> = []
  const gapsQuiet: Array<number> = []
  let callFlood = 0
  let callQuiet = 0
  for (const rs of renewsOf.values()) {
    rs.sort((a, b) => a.sentAt - b.sentAt)
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i]!
      const call = (r.acquiredAt ?? r.sentAt) - r.sentAt
      const from = i === 0 ? r.sentAt : rs[i - 1]!.sentAt
      const flooded = floods.some((f) => f.pid === r.pid && overlaps(f, from, r.sentAt))
      const quiet = !faults.some((f) => overlaps(f, from - leaseMs, r.sentAt + leaseMs))
      if (flooded) callFlood = Math.max(callFlood, call)
      else if (quiet) callQuiet = Math.max(callQuiet, call)
      if (i === 0) continue
      if (flooded) gapsFlood.push(r.sentAt - from)
      else if (quiet) gapsQuiet.push(r.sentAt - from)
    }
  }
  const renewalFigures = {
    flood: {
      gaps: gapsFlood.length,
      p50: percentile(gapsFlood, 50),
      max: gapsFlood.length === 0 ? Number.NaN : Math.max(...gapsFlood),
      longestCallMs: callFlood,
      lostOrFailed: renewals.filter(
        (r) =>
          r.result !== "renewed" &&
          floods.some((f) => f.pid === r.pid && f.start <= r.sentAt && r.sentAt <= f.end),
      ).length,
    },
    quiet: {
      gaps: gapsQuiet.length,
      p50: percentile(gapsQuiet, 50),
      max: gapsQuiet.length === 0 ? Number.NaN : Math.max(...gapsQuiet),
      longestCallMs: callQuiet,
    },
  }
  for (const f of ofHolder)
    if (f.flood === undefined)
      note(`flood of ${f.instance} at ${new Date(f.start).toISOString()} not sent (no port)`)
  const states: Record<string, number> = {}
  for (const x of executions) {
    const key = `${x.job_type} ${x.job_state}`
    states[key] = (states[key] ?? 0) + 1
  }

  return {
    passed: Object.values(v).every((n) => n === 0),
    violations: v,
    details,
    faults: faultCounts,
    sabotage: run.options?.sabotage ?? null,
    ledger: {
      attempts: entries.length,
      accepted: entries.filter((e) => e.accepted).length,
      staleRefused,
      staleRefusedAfterPauseOrStall: refusedExcused,
      staleRefusedOtherwise: staleRefused - refusedExcused,
      overlapAfterPause,
    },
    margin: {
      n: margins.length,
      min: margins.length === 0 ? Number.NaN : Math.min(...margins),
      p01: percentile(margins, 1),
      p50: percentile(margins, 50),
    },
    clockSkewMs: entries.reduce(
      (max, e) => (e.clockAt === undefined ? max : Math.max(max, Math.abs(e.clockAt - e.sentAt))),
      0,
    ),
    executions: states,
    cronSlots: { checked, ran, excused },
    failover: {
      kill: dist(failover.kill),
      pause: dist(failover.pause),
      killNodeDown: dist(failover.killNodeDown),
    },
    lwt,
    quorumUpSlots,
    flood,
    renewals: renewalFigures,
    leaseMs,
    durationMs: run.quietEnd - run.started,
  }
}

export const formatReport = (r: CheckReport) => {
  const lines = [
    `chaos ${r.passed ? "PASSED" : "FAILED"} (${Math.round(r.durationMs / 1000)} s, lease ${r.leaseMs} ms, clock skew seen by jobs up to ${r.clockSkewMs} ms)${r.sabotage ? ` SABOTAGE ${r.sabotage} (must fail)` : ""}`,
    `faults injected: ${Object.entries(r.faults)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ")}`,
    "violations (all must be 0):",
    ...Object.entries(r.violations).map(([k, n]) => `  ${k}: ${n}`),
    `ledger: ${r.ledger.attempts} write attempts, ${r.ledger.accepted} accepted; stale writes refused (fencing at work): ${r.ledger.staleRefused} (${r.ledger.staleRefusedAfterPauseOrStall} after a pause or stall, ${r.ledger.staleRefusedOtherwise} otherwise); attempts after a newer execution began, excused by a pause or stall: ${r.ledger.overlapAfterPause}`,
    r.margin.n === 0
      ? "self-fencing margin: no samples"
      : `self-fencing margin (newer acquisition - last write of an execution that did not end normally, outside its pauses): min ${r.margin.min} ms, p01 ${r.margin.p01} ms, p50 ${r.margin.p50} ms, n=${r.margin.n}`,
    `cron slots: ${r.cronSlots.checked} checked, ${r.cronSlots.ran} ran, ${r.cronSlots.excused} missed during a fault on the store or the claimant`,
    `executions: ${Object.entries(r.executions)
      .sort()
      .map(([k, n]) => `${k} ${n}`)
      .join(", ")}`,
    ...(r.quorumUpSlots.due === 0
      ? []
      : [
          `cron slots due while a quorum of Cassandra nodes was up (one node down, frozen or cut off): ${r.quorumUpSlots.ran} of ${r.quorumUpSlots.due} ran`,
        ]),
    ...(["kill", "pause", "killNodeDown"] as const).flatMap((k) => {
      const f = r.failover[k]
      const what =
        k === "killNodeDown" ? "kill of the holder with a Cassandra node down" : `${k} of the holder`
      if (k === "killNodeDown" && f.samples.length === 0) return []
      return f.samples.length === 0
        ? `failover after ${what}: no samples`
        : `failover after ${what}: p50 ${f.p50} ms (${(f.p50 / r.leaseMs).toFixed(2)} x lease), max ${f.max} ms (${(f.max / r.leaseMs).toFixed(2)} x lease), n=${f.samples.length}`
    }),
    ...Object.entries(r.lwt).map(
      ([kind, x]) =>
        `Cassandra LWT outcomes unknown during ${kind}: ${x.unknown}; resolved as ${
          Object.entries(x.resolved)
            .sort()
            .map(([k, n]) => `${k} ${n}`)
            .join(", ") || "nothing yet"
        }`,
    ),
    r.flood.n === 0
      ? "floods of the HTTP API: none"
      : `floods of the HTTP API: ${r.flood.n} (${r.flood.ofHolder} of the continuous holder, which lost its lease in ${r.flood.holderLostLease}), ${r.flood.attempts} connections: /events ${r.flood.admitted} admitted, ${r.flood.refused} refused (503); other requests ${r.flood.requestsOk} of ${r.flood.requests} answered 2xx (/health ${r.flood.healthOk} of ${r.flood.health}, slowest ${r.flood.healthSlowestMs} ms); ${r.flood.otherStatus} other answers, ${r.flood.errors} connection errors, ${r.flood.unanswered} unanswered when the flood ended; the flooding process' event loop delayed up to ${r.flood.clientLoopMaxMs} ms`,
    `renewals of the continuous lease (start to next start): during floods of its holder ${
      r.renewals.flood.gaps === 0
        ? "no samples"
        : `p50 ${r.renewals.flood.p50} ms, max ${r.renewals.flood.max} ms (n=${r.renewals.flood.gaps}, longest store call ${r.renewals.flood.longestCallMs} ms, ${r.renewals.flood.lostOrFailed} lost or failed)`
    }; away from faults ${
      r.renewals.quiet.gaps === 0
        ? "no samples"
        : `p50 ${r.renewals.quiet.p50} ms, max ${r.renewals.quiet.max} ms (n=${r.renewals.quiet.gaps}, longest store call ${r.renewals.quiet.longestCallMs} ms)`
    }`,
    ...r.details.map((d) => `  ! ${d}`),
  ]
  return lines.join("\n")
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2]
  if (!dir) throw new Error("usage: tsx chaos/check.ts <run directory>")
  const run = JSON.parse(fs.readFileSync(path.join(dir, "faults.json"), "utf8")) as {
    options: { leaseMs: number; deadAfterMs: number }
  }
  const report = check({ dir, leaseMs: run.options.leaseMs, deadAfterMs: run.options.deadAfterMs })
  console.log(formatReport(report))
  process.exit(report.passed ? 0 : 1)
}
