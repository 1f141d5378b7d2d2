import { Schema } from "effect"

// Names travel in URLs, CQL and SQL keys: keep them to a safe, bounded alphabet.
const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
export const MaxNameLength = 100

const Name = (what: string) =>
  Schema.String.pipe(
    Schema.filter((s) => {
      if (s.length === 0) return `${what} must not be empty`
      if (s.length > MaxNameLength)
        return `${what} must be at most ${MaxNameLength} characters, got ${s.length}`
      if (!namePattern.test(s))
        return `${what} "${s}" must start with a letter or digit and contain only letters, digits, '.', '_' and '-'`
      return true
    }),
  )

/** A named mutual-exclusion domain: executions of job types sharing a lock type never overlap. */
export const LockType = Name("lock type").pipe(Schema.brand("LockType"))
export type LockType = typeof LockType.Type

/** The name of a job. A job type names its lock type (by default a lock type of the same name). */
export const JobType = Name("job type").pipe(Schema.brand("JobType"))
export type JobType = typeof JobType.Type

/**
 * A job type's group: its name up to the first `.` (`billing.invoices` → `billing`); undefined for a
 * name without one. The overview and `GET /jobs?group=` sort job types by it.
 */
export const groupOf = (jobType: string): string | undefined => {
  const at = jobType.indexOf(".")
  return at > 0 ? jobType.slice(0, at) : undefined
}
