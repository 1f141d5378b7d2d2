import { Duration, Option } from "effect"
import type { JobExpectation } from "../core/Expectations.js"
import type { AuditEntry } from "../domain/Audit.js"
import type { CompatMode } from "../domain/Compat.js"
import { timestampOf } from "../domain/Ids.js"
import type { JobEvent } from "../domain/JobEvent.js"
import type { JobStatus } from "../domain/JobStatus.js"
import type { Pause } from "../domain/Pause.js"
import { fieldEntries, type StatusField, statusFields } from "../domain/StatusFields.js"
import { type ExpectationJson, StatusJson } from "./ApiSchemas.js"
import { idView } from "./Compat.js"

const DayMs = 86_400_000

/** The fixed-size units below a day (and weeks, for ha-jobs' periods), largest first. */
const units = [
  ["day", DayMs],
  ["hour", 3_600_000],
  ["minute", 60_000],
  ["second", 1_000],
  ["millisecond", 1],
] as const

/** `millis` split into `sizes` from the largest, each [unit, count]. */
const split = (millis: number, sizes: ReadonlyArray<readonly [string, number]>) => {
  let rest = Math.max(0, Math.round(millis))
  return sizes.map(([name, size]) => {
    const n = Math.floor(rest / size)
    rest -= n * size
    return [name, n] as const
  })
}

/** Joda's word-based English: "1 minute, 2 seconds and 3 milliseconds"; zero units left out. */
const inWords = (counts: ReadonlyArray<readonly [string, number]>) => {
  const parts = counts.filter(([, n]) => n > 0).map(([name, n]) => `${n} ${name}${n === 1 ? "" : "s"}`)
  if (parts.length === 0) return "0 milliseconds"
  if (parts.length === 1) return parts[0]!
  return `${parts.slice(0, -1).join(", ")} and ${parts.at(-1)}`
}

/**
 * A duration in words as ha-jobs printed it (Joda's word-based English):
 * "1 minute, 2 seconds and 3 milliseconds"; zero units are left out; 0 is "0 milliseconds".
 * Days are the largest unit ("9 days"); the ha-jobs mode uses `periodInWords`.
 */
export const durationInWords = (millis: number): string => inWords(split(millis, units))

/** `ms` plus n calendar months in UTC, the day clamped to the month's last (Jan 31 + 1 = Feb 28/29). */
const plusMonths = (ms: number, n: number) => {
  const d = new Date(ms)
  const day = d.getUTCDate()
  d.setUTCDate(1)
  d.setUTCMonth(d.getUTCMonth() + n)
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate()
  d.setUTCDate(Math.min(day, last))
  return d.getTime()
}

/**
 * The time from `startMs` to `endMs` exactly as ha-jobs printed it: Joda's standard period — years
 * and months by the UTC calendar, then weeks, days, hours, minutes, seconds, milliseconds — in
 * word-based English: "1 week and 2 days", "1 month, 3 days and 4 hours".
 */
export const periodInWords = (startMs: number, endMs: number): string => {
  const end = Math.max(startMs, Math.round(endMs))
  const whole = (from: number, months: number) => {
    let n = 0
    while (plusMonths(from, (n + 1) * months) <= end) n++
    return n
  }
  const years = whole(startMs, 12)
  const afterYears = plusMonths(startMs, years * 12)
  const months = whole(afterYears, 1)
  const rest = end - plusMonths(afterYears, months)
  return inWords([["year", years], ["month", months], ...split(rest, [["week", 7 * DayMs], ...units])])
}

/** A stored field's JSON value (see StatusJson in ApiSchemas.ts): times as ISO-8601. */
const jsonValueOf = (field: StatusField, value: unknown): unknown =>
  field.storage === "timestamp" ? (value as Date).toISOString() : value

const entries = fieldEntries(statusFields)

/**
 * The status JSON, field by field from StatusFields.ts, absent fields omitted; `withContent: false`
 * for lists (ha-jobs left content out there too).
 */
export const toStatusJson = (
  status: JobStatus,
  withContent = true,
  compat: CompatMode = "none",
): StatusJson => {
  const start = timestampOf(status.jobId)
  const end = status.jobStatusTs.getTime()
  const json: Record<string, unknown> = {}
  const put = (haJobs: boolean) => {
    for (const [name, field] of entries) {
      const value = status[name]
      if (field.haJobs !== haJobs || value === undefined || (name === "content" && !withContent)) continue
      json[name] = jsonValueOf(field, value)
    }
  }
  put(true)
  json.jobId = idView(compat).out(status.jobId)
  json.startTime = new Date(start).toISOString()
  json.duration = compat === "ha-jobs" ? periodInWords(start, end) : durationInWords(end - start)
  put(false)
  return json as StatusJson
}

/** The fields the dashboard lists for one execution, in order (its content is shown apart). */
export const dashboardFields: ReadonlyArray<string> = Object.keys(StatusJson.fields).filter(
  (name) => name !== "content",
)

/** An audit entry as JSON (ApiSchemas.AuditEntryJson): its fields, the time as ISO-8601 text. */
export const toAuditJson = (e: AuditEntry) => ({ ...e, at: e.at.toISOString() })

/** A job event as JSON (ApiSchemas.JobEventJson). */
export const toJobEventJson = (e: JobEvent) => ({
  ...e,
  at: e.at.toISOString(),
  from: e.from.toISOString(),
  to: e.to.toISOString(),
})

/** A pause as JSON (ApiSchemas.PauseJson). */
export const toPauseJson = (pause: Pause) => ({
  note: pause.note,
  by: pause.by,
  instance: pause.instance,
  since: pause.since.toISOString(),
  until: Option.match(pause.until, { onNone: () => null, onSome: (d) => d.toISOString() }),
  blockManual: pause.blockManual,
})

/** A job type's standing against its expectations, as GET /jobs/:jobType and the event stream show it. */
export const toExpectationJson = (x: JobExpectation): ExpectationJson => {
  const iso = Option.match({ onNone: () => null, onSome: (d: Date) => d.toISOString() })
  return {
    successWithin: Option.match(x.successWithin, { onNone: () => null, onSome: Duration.format }),
    maxDuration: Option.match(x.maxDuration, { onNone: () => null, onSome: Duration.format }),
    lastSuccessAt: iso(x.lastSuccessAt),
    overdueSince: iso(x.overdueSince),
    overrunning: x.overrunning.map((o) => o.jobId),
  }
}
