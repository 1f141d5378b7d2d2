/**
 * src/core (docs/architecture.md). This module: a binary min-heap of upcoming cron slots, so that one
 * fiber can wait for the earliest slot of every cron job type. A fiber per job type cost ~9 KiB of
 * heap each (bench:scale: 13.6 KiB per job type and instance with them, 4-7 KiB without).
 */
export interface Due {
  readonly slot: number
}

export class SlotHeap<A extends Due> {
  private readonly items: Array<A> = []

  get size(): number {
    return this.items.length
  }

  /** The earliest slot, without removing it. */
  peek(): A | undefined {
    return this.items[0]
  }

  push(item: A): void {
    const items = this.items
    items.push(item)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (items[parent]!.slot <= item.slot) break
      items[i] = items[parent]!
      i = parent
    }
    items[i] = item
  }

  /** Removes and returns the earliest slot. */
  pop(): A | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    let i = 0
    while (true) {
      const left = 2 * i + 1
      if (left >= items.length) break
      const right = left + 1
      const child = right < items.length && items[right]!.slot < items[left]!.slot ? right : left
      if (items[child]!.slot >= last.slot) break
      items[i] = items[child]!
      i = child
    }
    items[i] = last
    return top
  }
}
