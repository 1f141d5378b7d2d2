import { assert, describe, it } from "@effect/vitest"
import { Cron } from "croner"
import { Either } from "effect"
import { parseCron } from "../../src/domain/CronSchedule.js"

const from = Date.parse("2026-03-01T00:00:00Z") // a Sunday
const nexts = (expression: string, count = 3, timeZone = "UTC") => {
  const cron = Either.getOrThrow(parseCron(expression, timeZone))
  const out: Array<string> = []
  let after = from
  for (let i = 0; i < count; i++) {
    const next = cron.next(after)
    if (next === undefined) break
    out.push(new Date(next).toISOString())
    after = next
  }
  return out
}

describe("CronSchedule", () => {
  it("Quartz syntax as ha-jobs users write it", () => {
    assert.deepStrictEqual(nexts("0 * * * * ?", 2), ["2026-03-01T00:01:00.000Z", "2026-03-01T00:02:00.000Z"])
    assert.deepStrictEqual(nexts("0 10/20 * * * ?"), [
      "2026-03-01T00:10:00.000Z",
      "2026-03-01T00:30:00.000Z",
      "2026-03-01T00:50:00.000Z",
    ])
    // Quartz weekdays: 1 = Sunday, 2 = Monday; names too.
    assert.deepStrictEqual(nexts("0 0 0 ? * MON", 1), ["2026-03-02T00:00:00.000Z"])
    assert.deepStrictEqual(nexts("0 0 0 ? * 2", 1), ["2026-03-02T00:00:00.000Z"])
    assert.deepStrictEqual(nexts("0 0 0 ? * 1", 1), ["2026-03-08T00:00:00.000Z"])
    assert.deepStrictEqual(nexts("0 0 12 L * ?", 2), ["2026-03-31T12:00:00.000Z", "2026-04-30T12:00:00.000Z"])
    assert.deepStrictEqual(nexts("0 0 12 15W * ?", 1), ["2026-03-16T12:00:00.000Z"]) // the 15th is a Sunday
    assert.deepStrictEqual(nexts("0 0 12 ? * 6#3", 1), ["2026-03-20T12:00:00.000Z"]) // third Friday
    assert.deepStrictEqual(nexts("0 0 12 1 JAN-MAR ? 2027", 2), [
      "2027-01-01T12:00:00.000Z",
      "2027-02-01T12:00:00.000Z",
    ])
    assert.deepStrictEqual(nexts("0 0,30 9-10 ? * MON-FRI", 2), [
      "2026-03-02T09:00:00.000Z",
      "2026-03-02T09:30:00.000Z",
    ])
  })

  it("the common 5-field Unix form, minutes first, weekdays from 0 = Sunday", () => {
    assert.deepStrictEqual(nexts("*/15 * * * *", 2), ["2026-03-01T00:15:00.000Z", "2026-03-01T00:30:00.000Z"])
    assert.deepStrictEqual(nexts("0 9 * * 1", 1), ["2026-03-02T09:00:00.000Z"])
    assert.deepStrictEqual(nexts("0 9 * * 0", 1), ["2026-03-01T09:00:00.000Z"])
  })

  it("the time zone decides the wall clock", () => {
    assert.deepStrictEqual(nexts("0 0 12 * * ?", 1, "Europe/Berlin"), ["2026-03-01T11:00:00.000Z"])
    assert.deepStrictEqual(nexts("0 0 12 * * ?", 1, "America/New_York"), ["2026-03-01T17:00:00.000Z"])
  })

  const invalid: Array<[string, string, RegExp]> = [
    ["0 * * * * *", "UTC", /needs '\?' in exactly one of day-of-month .* and day-of-week/],
    ["0 0 12 ? * ?", "UTC", /needs '\?' in exactly one/],
    ["foo", "UTC", /expected 5 fields .* got 1/],
    ["61 * * * * ?", "UTC", /Invalid value for second: 61/],
    ["0 0 12 31 2 ?", "UTC", /never fires/],
    ["0 0 12 * * ? 2001", "UTC", /never fires/],
    ["0 0 25 * * ?", "UTC", /hour/],
    ["0 0 12 * * ?", "Mars/Olympus", /unknown time zone "Mars\/Olympus"/],
  ]
  for (const [expression, zone, message] of invalid)
    it(`rejects "${expression}" (${zone}) naming the problem`, () => {
      const result = parseCron(expression, zone)
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) assert.match(result.left, message)
      if (Either.isLeft(result) && zone === "UTC") assert.include(result.left, `"${expression}"`)
    })

  it("the same slots as croner's own (UTC by offset, any-year table shared), without ~80 KB per schedule", () => {
    const cases: Array<[string, string]> = [
      ["0 30 1 * * ?", "Europe/Berlin"],
      ["0 0/15 * ? * MON-FRI", "UTC"],
      ["0 0 12 L * ?", "America/New_York"],
      ["0 0 9 ? * 2#1 2027-2030", "UTC"], // names years: keeps its own table
      ["*/5 * * * *", "UTC"],
      // UTC runs on croner's offset path (no Intl): the same slots as its time-zone path.
      ["0 0 8 LW * ?", "UTC"],
      ["0 0 0 1W * ?", "Etc/UTC"],
      ["0 0 23 ? * 6L", "UTC"],
      ["0 0 0 29 2 ?", "UTC"],
      ["0 0 * * 0", "UTC"],
      ["0 0/7 9-17 ? * 2-6", "UTC"],
    ]
    for (const [expression, timeZone] of cases) {
      const ours = Either.getOrThrow(parseCron(expression, timeZone))
      const quartz = expression.split(" ").length >= 6
      const theirs = new Cron(expression, {
        timezone: timeZone,
        mode: quartz ? "6-or-7-parts" : "5-part",
        alternativeWeekdays: quartz,
        sloppyRanges: true,
        paused: true,
      })
      let at = from
      for (let i = 0; i < 20; i++) {
        const next = ours.next(at)
        assert.strictEqual(next, theirs.nextRun(new Date(at))?.getTime(), `${expression} after ${at}`)
        if (next === undefined) break
        assert.strictEqual(ours.previous(next), theirs.previousRuns(1, new Date(next))[0]?.getTime())
        at = next
      }
    }
    // 2,000 schedules held at once: croner alone keeps ~80 KB each (160 MB); shared, a few KB.
    const before = process.memoryUsage().heapUsed
    const held = Array.from({ length: 2_000 }, (_, i) => Either.getOrThrow(parseCron(`${i % 60} * * * * ?`)))
    const perSchedule = (process.memoryUsage().heapUsed - before) / held.length
    assert.isBelow(perSchedule, 40_000)
  })
})
