/**
 * src/domain (docs/architecture.md). This module: an instance as the store last saw it — each
 * instance announces itself every `every` (its heartbeat, Membership.ts); one not seen for
 * `GoneAfterBeats` of its own intervals is gone.
 */

/** An instance's last heartbeat, times by the store's clock. */
export interface InstanceSeen {
  readonly instance: string
  /** When the instance started (its own clock: only shown). */
  readonly startedAt: Date
  /** Its last heartbeat, by the store's clock. */
  readonly seenAt: Date
  /** How often it announces itself, in milliseconds. */
  readonly everyMs: number
}

/** Missed heartbeats after which an instance counts as gone. */
export const GoneAfterBeats = 3

/** Instances not seen for this long are forgotten (a day: a restart under a new name stays visible for a while). */
export const InstanceRetentionMs = 86_400_000

export const isGone = (seen: InstanceSeen, now: Date): boolean =>
  now.getTime() - seen.seenAt.getTime() > GoneAfterBeats * seen.everyMs
