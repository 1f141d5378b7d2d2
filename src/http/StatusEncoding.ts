import { Duration, Option } from "effect"
import type { JobExpectation } from "../core/Expectations.js"
import type { AuditEntry } from "../domain/Audit.js"
import { timestampOf } from "../domain/Ids.js"
import type { JobEvent } from "../domain/JobEvent.js"
import type { JobStatus } from "../domain/JobStatus.js"
import type { Pause } from "../domain/Pause.js"
import { fieldEntries, type StatusField, statusFields } from "../domain/StatusFields.js"
import { type ExpectationJson, StatusJson } from "./ApiSchemas.js"

const units = [
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
  ["second", 1_000],
  ["millisecond", 1],
] as const

/**
 * A duration in words as ha-jobs printed it (Joda's word-based English):
 * "1 minute, 2 seconds and 3 milliseconds"; zero units are left out; 0 is "0 milliseconds".
 * Days are the largest unit (ha-jobs' calendar weeks/months do not matter for job runs).
 */
export const durationInWords = (millis: number): string => {
  let rest = Math.max(0, Math.round(millis))
  const parts: Array<string> = []
  for (const [name, size] of units) {
    const n = Math.floor(rest / size)
    rest -= n * size
    if (n > 0) parts.push(`${n} ${name}${n === 1 ? "" : "s"}`)
  }
  if (parts.length === 0) return "0 milliseconds"
  if (parts.length === 1) return parts[0]!
  return `${parts.slice(0, -1).join(", ")} and ${parts.at(-1)}`
}

/** A stored field's JSON value (see StatusJson in ApiSchemas.ts): times as ISO-8601. */
const jsonValueOf = (field: StatusField, value: unknown): unknown =>
  field.storage === "timestamp" ? (value as Date).toISOString() : value

const entries = fieldEntries(statusFields)

/**
 * The status JSON, field by field from StatusFields.ts, absent fields omitted; `withContent: false`
 * for lists (ha-jobs left content out there too).
 */
export const toStatusJson = (status: JobStatus, withContent = true): StatusJson => {
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
  json.startTime = new Date(start).toISOString()
  json.duration = durationInWords(end - start)
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
