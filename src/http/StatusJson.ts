import { timestampOf } from "../domain/Ids.js"
import type { JobStatus } from "../domain/JobStatus.js"
import type { StatusJson } from "./ApiSchemas.js"

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

/** The status JSON; `withContent: false` for lists (ha-jobs left content out there too). */
export const toStatusJson = (status: JobStatus, withContent = true): StatusJson => {
  const start = timestampOf(status.jobId)
  const end = status.jobStatusTs.getTime()
  return {
    triggerId: status.triggerId,
    jobType: status.jobType,
    jobId: status.jobId,
    jobState: status.jobState,
    jobResult: status.jobResult,
    jobStatusTs: status.jobStatusTs.toISOString(),
    ...(withContent && status.content !== undefined ? { content: status.content } : {}),
    startTime: new Date(start).toISOString(),
    duration: durationInWords(end - start),
    lockType: status.lockType,
    ...(status.fencingToken === undefined ? {} : { fencingToken: status.fencingToken }),
    attempt: status.attempt,
    triggerSource: status.triggerSource,
    ...(status.reason === undefined ? {} : { reason: status.reason }),
    ...(status.scheduledAt === undefined ? {} : { scheduledAt: status.scheduledAt.toISOString() }),
    ...(status.instance === undefined ? {} : { instance: status.instance }),
  }
}
