import { assert, describe, it } from "vitest"
import { SlotHeap } from "../../src/core/SlotHeap.js"

describe("SlotHeap", () => {
  it("pops slots in ascending order, duplicates included, whatever the push order", () => {
    let seed = 7
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed
    }
    const heap = new SlotHeap<{ slot: number }>()
    const pushed: Array<number> = []
    for (let i = 0; i < 2_000; i++) {
      const slot = random() % 500 // many equal slots, as with jobs sharing a cron second
      pushed.push(slot)
      heap.push({ slot })
      // Interleave pops with pushes, as the dispatcher does.
      if (i % 3 === 0) {
        const min = heap.pop()!.slot
        assert.strictEqual(min, Math.min(...pushed))
        pushed.splice(pushed.indexOf(min), 1)
      }
    }
    const popped: Array<number> = []
    while (heap.size > 0) popped.push(heap.pop()!.slot)
    assert.deepStrictEqual(
      popped,
      [...pushed].sort((a, b) => a - b),
    )
    assert.isUndefined(heap.pop())
    assert.isUndefined(heap.peek())
  })
})
