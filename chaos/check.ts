/**
 * Reads what a chaos run recorded (the ledger's JSON lines, the faults, the SQLite statuses) and
 * counts violations of the guarantees. Every count must be zero to pass.
 *
 *   npx tsx chaos/check.ts <run directory>
 */
import * as fs from "node:fs"
import * as path from "node:path"
import Database from "better-sqlite3"
import type { LedgerEntry } from "./ledger.js"
import type { Fault } from "./run.js"

export interface CheckOptions {
  readonly dir: string
  readonly leaseMs: number
  readonly deadAfterMs: number
  /** false when a worker had to be killed at the end (its executions may stay PENDING). */
  readonly shutdownClean?: boolean | undefined
}

export interface Violations {
  /** Two executions of one lock type whose accepted ledger writes interleave. */
  overlap: number
  /** A new execution of a lock type whose token is not greater than the one before (ledger), or a token shared by two executions (store). */
  tokenNotIncreasing: number
  /** A write the ledger should have refused but accepted (recomputed from its log). */
  staleAccepted: number
  /** A cron slot with two executions (store) or two executions writing for it (ledger). */
  slotRunTwice: number
  /** A cron slot with no execution while a worker was healthy and the store reachable. */
  slotMissed: number
  /** An execution still PENDING after the supervisor's grace and a graceful shutdown. */
  pendingAfterGrace: number
  /** A worker that did not stop within 20 s of SIGTERM. */
  shutdownHung: number
}

export interface CheckReport {
  readonly passed: boolean
  readonly violations: Violations
  readonly details: Array<string>
  readonly faults: Record<string, number>
  readonly ledger: {
    accepted: number
    staleRefused: number
    staleRefusedAfterPauseOrStall: number
    staleRefusedOtherwise: number
  }
  readonly executions: Record<string, number>
  readonly cronSlots: { checked: number; ran: number; excused: number }
  /** Failover of the continuous job after a fault on its holder, ms (and / lease). */
  readonly failover: Record<"kill" | "pause", { samples: Array<number>; p50: number; max: number }>
  readonly leaseMs: number
  readonly durationMs: number
}

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

/** The statuses and slot claims: store.json (exported from Cassandra by chaos/run.ts) or chaos.db. */
const readStore = (dir: string) => {
  const exported = path.join(dir, "store.json")
  if (fs.existsSync(exported)) {
    const x = JSON.parse(fs.readFileSync(exported, "utf8")) as {
      executions: Array<ExecutionRow>
      slots: Array<{ job_type: string; slot: number; instance: string }>
    }
    return { executions: x.executions, slots: x.slots.filter((s) => s.job_type === "chaos-cron") }
  }
  const conn = new Database(path.join(dir, "chaos.db"), { readonly: true, fileMustExist: true })
  const executions = conn.prepare("SELECT * FROM ha_executions").all() as Array<ExecutionRow>
  const slots = conn
    .prepare("SELECT job_type, slot, instance FROM ha_slots WHERE job_type = 'chaos-cron'")
    .all() as Array<{
    slot: number
    instance: string
  }>
  conn.close()
  return { executions, slots }
}

export const check = (options: CheckOptions): CheckReport => {
  const { dir, leaseMs } = options
  const run = JSON.parse(fs.readFileSync(path.join(dir, "faults.json"), "utf8")) as {
    faults: Array<Fault>
    quietEnd: number
    started: number
  }
  const faults = run.faults
  const entries = fs
    .readFileSync(path.join(dir, "ledger.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as LedgerEntry)
    .sort((a, b) => a.seq - b.seq)
  const { executions, slots } = readStore(dir)

  const v: Violations = {
    overlap: 0,
    tokenNotIncreasing: 0,
    staleAccepted: 0,
    slotRunTwice: 0,
    slotMissed: 0,
    pendingAfterGrace: 0,
    shutdownHung: options.shutdownClean === false ? 1 : 0,
  }
  const details: Array<string> = []
  const note = (what: string) => details.length < 50 && details.push(what)

  // 1. Replay the ledger: was every accepted write legitimate?
  const newest = new Map<string, LedgerEntry>()
  let staleRefused = 0
  let refusedExcused = 0
  const pausedOrStalled = (e: LedgerEntry) =>
    faults.some(
      (f) =>
        (f.kind === "stall" || f.kind === "restart" || (f.kind === "pause" && f.pid === e.pid)) &&
        f.start <= e.at &&
        e.at <= f.end + leaseMs + 1_000,
    )
  for (const e of entries) {
    const last = newest.get(e.lockType)
    const legit =
      last === undefined || e.token > last.token || (e.token === last.token && e.jobId === last.jobId)
    if (e.accepted) {
      if (!legit) {
        v.staleAccepted++
        note(
          `stale write accepted: ${e.lockType} token ${e.token} (${e.jobId}) after ${last?.token} (${last?.jobId})`,
        )
      }
      newest.set(e.lockType, e)
    } else {
      staleRefused++
      if (pausedOrStalled(e)) refusedExcused++
      else
        note(
          `stale write refused without a pause or stall: ${e.instance} ${e.lockType} token ${e.token} at ${e.at}`,
        )
    }
  }

  // 2. Executions as the ledger saw their accepted writes: no interleaving, tokens increasing.
  const byLock = new Map<string, Map<string, { first: LedgerEntry; last: LedgerEntry }>>()
  for (const e of entries) {
    if (!e.accepted) continue
    const m = byLock.get(e.lockType) ?? new Map()
    byLock.set(e.lockType, m)
    const x = m.get(e.jobId)
    if (x) x.last = e
    else m.set(e.jobId, { first: e, last: e })
  }
  for (const [lockType, m] of byLock) {
    const list = [...m.values()].sort((a, b) => a.first.seq - b.first.seq)
    let maxLastSeq = 0
    let maxLastAt = 0
    for (let i = 0; i < list.length; i++) {
      const x = list[i]!
      if (x.first.seq < maxLastSeq || x.first.at < maxLastAt) {
        v.overlap++
        note(
          `overlap on ${lockType}: ${x.first.jobId} (token ${x.first.token}) began before the previous execution's last write`,
        )
      }
      if (i > 0 && x.first.token <= list[i - 1]!.first.token) {
        v.tokenNotIncreasing++
        note(`token not increasing on ${lockType}: ${x.first.token} after ${list[i - 1]!.first.token}`)
      }
      maxLastSeq = Math.max(maxLastSeq, x.last.seq)
      maxLastAt = Math.max(maxLastAt, x.last.at)
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
  for (let slot = firstCron; slot <= lastSlot; slot += 1000) {
    checked++
    if (perSlot.has(slot)) {
      ran++
      continue
    }
    const claimant = claimedBy.get(slot)
    const excuse = faults.some(
      (f) =>
        ((f.kind === "stall" || f.kind === "restart") && f.start - 2_000 <= slot && slot <= f.end + 1_000) ||
        (claimant !== undefined &&
          f.instance === claimant &&
          f.start - 2_000 <= slot &&
          slot <= f.end + 1_000),
    )
    if (excuse) excused++
    else {
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
  const failover = { kill: [] as Array<number>, pause: [] as Array<number> }
  for (const f of faults) {
    if (f.kind === "stall" || f.kind === "restart" || f.holderToken === undefined) continue
    const next = entries.find(
      (e) => e.accepted && e.lockType === f.holderLockType && e.token > f.holderToken! && e.at >= f.start,
    )
    if (next) failover[f.kind].push(next.at - f.start)
  }
  const dist = (s: Array<number>) => ({ samples: s, p50: percentile(s, 50), max: Math.max(...s) })

  const count = <K extends string>(keys: ReadonlyArray<K>) =>
    Object.fromEntries(keys.map((k) => [k, 0])) as Record<string, number>
  const faultCounts = count(
    faults.some((f) => f.kind === "restart")
      ? ["kill", "pause", "stall", "restart"]
      : ["kill", "pause", "stall"],
  )
  for (const f of faults) faultCounts[f.kind]! += 1
  faultCounts["kill of the continuous holder"] = faults.filter(
    (f) => f.kind === "kill" && f.holderToken !== undefined,
  ).length
  faultCounts["pause of the continuous holder"] = faults.filter(
    (f) => f.kind === "pause" && f.holderToken !== undefined,
  ).length
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
    ledger: {
      accepted: entries.filter((e) => e.accepted).length,
      staleRefused,
      staleRefusedAfterPauseOrStall: refusedExcused,
      staleRefusedOtherwise: staleRefused - refusedExcused,
    },
    executions: states,
    cronSlots: { checked, ran, excused },
    failover: { kill: dist(failover.kill), pause: dist(failover.pause) },
    leaseMs,
    durationMs: run.quietEnd - run.started,
  }
}

export const formatReport = (r: CheckReport) => {
  const lines = [
    `chaos ${r.passed ? "PASSED" : "FAILED"} (${Math.round(r.durationMs / 1000)} s, lease ${r.leaseMs} ms)`,
    `faults injected: ${Object.entries(r.faults)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ")}`,
    "violations (all must be 0):",
    ...Object.entries(r.violations).map(([k, n]) => `  ${k}: ${n}`),
    `ledger: ${r.ledger.accepted} writes accepted; stale writes refused (fencing at work): ${r.ledger.staleRefused} (${r.ledger.staleRefusedAfterPauseOrStall} after a pause or stall, ${r.ledger.staleRefusedOtherwise} otherwise)`,
    `cron slots: ${r.cronSlots.checked} checked, ${r.cronSlots.ran} ran, ${r.cronSlots.excused} missed during a fault on the store or the claimant`,
    `executions: ${Object.entries(r.executions)
      .sort()
      .map(([k, n]) => `${k} ${n}`)
      .join(", ")}`,
    ...(["kill", "pause"] as const).map((k) => {
      const f = r.failover[k]
      return f.samples.length === 0
        ? `failover after ${k} of the holder: no samples`
        : `failover after ${k} of the holder: p50 ${f.p50} ms (${(f.p50 / r.leaseMs).toFixed(2)} x lease), max ${f.max} ms (${(f.max / r.leaseMs).toFixed(2)} x lease), n=${f.samples.length}`
    }),
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
