import { Option, Schema } from "effect"
import { JobType } from "./Names.js"

/** Longest operator note on a pause, in UTF-8 bytes: a reason, not a document. */
export const MaxNoteBytes = 1024

/**
 * A job type paused by an operator, cluster-wide, as the store keeps it. While it is in force (see
 * `inForce`) no cron slot, catch-up, continuous restart or supervisor retry of the job type starts,
 * and a manual trigger only when `blockManual` is false.
 */
export class Pause extends Schema.Class<Pause>("Pause")({
  jobType: JobType,
  /** Why, in the operator's words (at most MaxNoteBytes); empty when none was given. */
  note: Schema.String,
  /** Who paused it: the identity the HTTP API's authorize hook returned, or what the caller said. */
  by: Schema.String,
  /** The instance that wrote the pause. */
  instance: Schema.String,
  since: Schema.DateFromSelf,
  /** When the pause ends by itself; none: until resumed. */
  until: Schema.OptionFromSelf(Schema.DateFromSelf),
  /** Manual triggers are refused too. */
  blockManual: Schema.Boolean,
}) {}

/** Whether the pause still holds at `now` (ms): a pause past its `until` is over, without a write. */
export const inForce = (pause: Pause, now: number): boolean =>
  Option.match(pause.until, { onNone: () => true, onSome: (until) => until.getTime() > now })

/** Whether two pauses say the same to an operator: note, `until` and `blockManual` (not who or when). */
export const samePause = (a: Pause, b: Pause): boolean =>
  a.note === b.note &&
  a.blockManual === b.blockManual &&
  Option.getOrUndefined(a.until)?.getTime() === Option.getOrUndefined(b.until)?.getTime()
