import { Schema } from "effect"
import { AuditId } from "./Ids.js"
import { JobType } from "./Names.js"

/** What an operator did (a backfill: when asked and when it ends). Cron slots, retries and continuous restarts are the library's, not audited. */
export const AuditAction = Schema.Literal("trigger", "cancel", "pause", "resume", "backfill")
export type AuditAction = typeof AuditAction.Type

/** Longest `detail` kept, in UTF-8 bytes (a pause note is at most 1 KiB; the rest is short). */
export const MaxAuditDetailBytes = 2048

/**
 * One operator action, as the store keeps it: who did what to which job type, when, from which
 * instance, and what came of it. Written by the JobManager for every trigger (manual), cancel, pause
 * and resume, whether called from the HTTP API, the dashboard or the library.
 */
export class AuditEntry extends Schema.Class<AuditEntry>("AuditEntry")({
  /** Time-ordered: entries list newest first by id, and an id is the cursor of the next page. */
  id: AuditId,
  at: Schema.DateFromSelf,
  instance: Schema.String,
  action: AuditAction,
  jobType: JobType,
  /** Who: the HTTP API's authorize hook's answer ("token" in bearer-token mode, "anonymous" without), or the library caller's `by` ("library" by default). */
  identity: Schema.String,
  /** The action's input: a pause's note, until and blockManual; empty when none. At most MaxAuditDetailBytes. */
  detail: Schema.String,
  /** What came of it: "started <jobId>", "locked by <type> <id>", "paused", "no change", "failed: ..." */
  outcome: Schema.String,
}) {}
