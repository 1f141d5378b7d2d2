/**
 * The ha-jobs compatibility mode (`HttpOptions.compat: "ha-jobs"`, HA_JOBS_COMPAT=ha-jobs): what the
 * API answers differently so that ha-jobs' own overview page and REST clients work unchanged.
 * README "Migrating from ha-jobs" lists every difference.
 */

import type { CompatMode } from "../domain/Compat.js"

/**
 * How job ids look on the wire. Stores keep this library's time-ordered (version 7) ids in every
 * mode, so newest-first stays right everywhere; only what the API shows and reads changes.
 */
export interface IdView {
  /** The wire form of a stored job id. */
  readonly out: (jobId: string) => string
  /** The stored id a wire id names, or undefined when it cannot name one. */
  readonly in: (wire: string) => string | undefined
}

export const sameIds: IdView = { out: (id) => id, in: (id) => id }

// 100-ns intervals from the Gregorian calendar's start (1582-10-15) to 1970-01-01, in ms: the epoch
// of version-1 UUIDs.
const gregorianOffsetMs = 12_219_292_800_000n
const hex = (n: bigint, digits: number) => n.toString(16).padStart(digits, "0")
const v7Pattern = /^([0-9a-f]{8})-([0-9a-f]{4})-7([0-9a-f]{3})-([89ab][0-9a-f]{3})-([0-9a-f]{12})$/
const v1Pattern = /^([0-9a-f]{8})-([0-9a-f]{4})-1([0-9a-f]{3})-([89ab][0-9a-f]{3})-([0-9a-f]{12})$/

/**
 * ha-jobs' page reads a run's start time from its job id as a version-1 UUID. A version-7 id maps
 * to one without losing a bit: its millisecond time becomes the v1 timestamp (in 100 ns units), its
 * 12 random bits of `rand_a` the sub-millisecond part (< 10,000), and its last 64 bits (variant and
 * `rand_b`) are the v1 clock sequence and node as they are. So the page shows the true start, and
 * the v1 id maps back to the stored one.
 */
export const haJobsIds: IdView = {
  out: (id) => {
    const m = v7Pattern.exec(id)
    if (m === null) return id
    const ms = BigInt(`0x${m[1]}${m[2]}`)
    const ticks = (ms + gregorianOffsetMs) * 10_000n + BigInt(`0x${m[3]}`)
    if (ticks >= 1n << 60n) return id // after the year 5236: no v1 form
    return `${hex(ticks & 0xffffffffn, 8)}-${hex((ticks >> 32n) & 0xffffn, 4)}-1${hex(ticks >> 48n, 3)}-${m[4]}-${m[5]}`
  },
  in: (wire) => {
    const id = wire.toLowerCase()
    if (v7Pattern.test(id)) return id
    const m = v1Pattern.exec(id)
    if (m === null) return undefined
    const ticks = (BigInt(`0x${m[3]}`) << 48n) | (BigInt(`0x${m[2]}`) << 32n) | BigInt(`0x${m[1]}`)
    const sub = ticks % 10_000n
    const ms = ticks / 10_000n - gregorianOffsetMs
    // Not one of ours (an id ha-jobs made itself, say): no stored id has that form.
    if (sub >= 4096n || ms < 0n || ms >= 1n << 48n) return undefined
    const t = hex(ms, 12)
    return `${t.slice(0, 8)}-${t.slice(8)}-7${hex(sub, 3)}-${m[4]}-${m[5]}`
  },
}

export const idView = (mode: CompatMode): IdView => (mode === "ha-jobs" ? haJobsIds : sameIds)
