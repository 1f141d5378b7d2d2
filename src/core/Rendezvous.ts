/**
 * src/core (docs/architecture.md). This module: rendezvous (highest-random-weight) hashing — which
 * of the live instances is a job type's preferred firer, and where this instance stands after it.
 * Every instance computes the same order from the same live set without talking to the others, and
 * an instance joining or leaving moves only the job types it ranks first for (about 1/N of them).
 */

/** 53-bit FNV-1a-style hash of a string: two 32-bit lanes, so ties between instances are negligible. */
const hash = (text: string): number => {
  let a = 0x811c9dc5
  let b = 0x01000193 ^ text.length
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x5bd1e995)
  }
  // Final mixing (murmur3's fmix32) so near-identical names spread over the whole range.
  const mix = (h: number) => {
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
    return (h ^ (h >>> 16)) >>> 0
  }
  return (mix(a) & 0x1fffff) * 0x100000000 + mix(b)
}

const weight = (instance: string, key: string): number => hash(`${instance}\u0000${key}`)

/**
 * Where `self` ranks for `key` among `live` (0: the preferred firer), or undefined when `self` is
 * not among them (it has not announced itself yet, or heartbeats are off): it then knows nothing
 * of the order and must act as if preferred.
 */
export const rank = (self: string, live: ReadonlyArray<string>, key: string): number | undefined => {
  if (!live.includes(self)) return undefined
  const mine = weight(self, key)
  let above = 0
  for (const other of live)
    if (other !== self) {
      const w = weight(other, key)
      if (w > mine || (w === mine && other < self)) above++
    }
  return above
}
