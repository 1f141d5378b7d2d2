import { assert, describe, it } from "vitest"
import * as Rendezvous from "../../src/core/Rendezvous.js"

const names = (n: number) => Array.from({ length: n }, (_, i) => `host-${i + 1}`)
const keys = Array.from({ length: 2_000 }, (_, i) => `job-${i}`)
const preferred = (live: ReadonlyArray<string>, key: string) =>
  live.find((n) => Rendezvous.rank(n, live, key) === 0)

describe("Rendezvous", () => {
  it("ranks are a permutation: one preferred firer, one of each rank", () => {
    const live = names(7)
    for (const key of keys.slice(0, 100))
      assert.deepStrictEqual(live.map((n) => Rendezvous.rank(n, live, key)).sort(), [0, 1, 2, 3, 4, 5, 6])
  })

  it("an instance not in the live set has no rank (it claims at once)", () => {
    assert.isUndefined(Rendezvous.rank("new", names(3), "job"))
    assert.isUndefined(Rendezvous.rank("new", [], "job"))
  })

  it("spreads job types evenly: each of 10 instances is preferred for 10 % ± 3 % of 2,000", () => {
    const live = names(10)
    const counts = new Map<string, number>()
    for (const key of keys) {
      const p = preferred(live, key)!
      counts.set(p, (counts.get(p) ?? 0) + 1)
    }
    assert.strictEqual(counts.size, 10)
    for (const c of counts.values()) assert.approximately(c, 200, 60)
  })

  it("an instance joining takes only job types from the others; nothing else moves", () => {
    const before = names(10)
    const after = [...before, "host-11"]
    let moved = 0
    for (const key of keys) {
      const p0 = preferred(before, key)
      const p1 = preferred(after, key)
      if (p0 !== p1) {
        assert.strictEqual(p1, "host-11")
        moved++
      }
    }
    assert.approximately(moved, keys.length / 11, 60)
  })
})
