import { describe, expect, it } from "vitest"
import { claimantWindowMs, hitAround, overlappedSlots } from "../../chaos/check.js"
import type { Fault } from "../../chaos/run.js"

// The checker's excuse for an unrun cron slot: it must excuse a claimant killed while its claim could
// still be under way, and nothing later (an excuse too wide hides missed slots).
describe("chaos checker: which faults excuse an unrun slot", () => {
  const slot = 1_000_000
  const worker = { pid: 42 }
  const kill = (start: number, pid = 42): Fault => ({ kind: "kill", start, end: start + 3_000, pid })

  it("a claimant killed 5.5 s after its slot (claim still under way) is excused", () => {
    expect(hitAround([kill(slot + 5_500)], worker, slot, claimantWindowMs)).toBe(true)
    // Any other worker must have fired the slot within 2 s: the same kill does not excuse it.
    expect(hitAround([kill(slot + 5_500)], worker, slot, 2_000)).toBe(false)
  })

  it("a claimant killed after the claim and its resolving read were over is not excused", () => {
    expect(hitAround([kill(slot + claimantWindowMs + 1)], worker, slot, claimantWindowMs)).toBe(false)
  })

  it("a fault on another worker excuses nothing; a store fault excuses every worker", () => {
    expect(hitAround([kill(slot + 1_000, 7)], worker, slot, claimantWindowMs)).toBe(false)
    const stall: Fault = { kind: "stall", start: slot - 500, end: slot + 4_000 }
    expect(hitAround([stall], worker, slot, 2_000)).toBe(true)
  })
})

// An overlapped slot is an event, not a status: the checker must count it as accounted for, and no
// more slots than the event names (a coalesced event would name only its ends).
describe("chaos checker: which slots overlap events account for", () => {
  const event = (from: number, to: number, count: number, job_type = "chaos-cron") => ({
    job_type,
    count,
    from,
    to,
  })

  it("an overlap event accounts for its slot; a coalesced one only for its ends, not what lies between", () => {
    expect([...overlappedSlots([event(10_000, 10_000, 1)])]).toEqual([10_000])
    expect([...overlappedSlots([event(10_000, 13_000, 4)])].sort()).toEqual([10_000, 13_000])
  })

  it("another job type's overlaps account for nothing", () => {
    expect(overlappedSlots([event(10_000, 10_000, 1, "supervisor")]).size).toBe(0)
  })
})
