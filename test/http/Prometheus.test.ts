import { Effect, Metric, MetricBoundaries } from "effect"
import { describe, expect, it } from "vitest"
import { render } from "../../src/http/Prometheus.js"

// Unique names: the metric registry is global to the test worker.
const id = `t${Date.now()}`

describe("Prometheus rendering of Effect metric snapshots", () => {
  it("renders counters, gauges, histograms, summaries and frequencies with escaped labels", async () => {
    const counter = Metric.counter(`${id}_runs_total`, { description: "Runs\nby type", incremental: true })
    const gauge = Metric.gauge(`${id}.running`)
    const histogram = Metric.histogram(
      `${id}_latency_ms`,
      MetricBoundaries.linear({ start: 10, width: 10, count: 3 }) /* 10, 20, +Inf */,
    )
    const summary = Metric.summary({
      name: `${id}_size`,
      maxAge: "1 hour",
      maxSize: 10,
      error: 0,
      quantiles: [0.5],
    })
    const frequency = Metric.frequency(`${id}_outcomes`)
    const text = await Effect.runPromise(
      Effect.gen(function* () {
        yield* Metric.incrementBy(Metric.tagged(counter, "job_type", 'a"b\\c\nd'), 2)
        yield* Metric.increment(Metric.tagged(counter, "job_type", "x"))
        yield* Metric.set(gauge, 3)
        for (const v of [5, 15, 15, 100]) yield* Metric.update(histogram, v)
        for (const v of [1, 2, 3]) yield* Metric.update(summary, v)
        for (const v of ["ok", "ok", "failed"]) yield* Metric.update(frequency, v)
        return render((yield* Metric.snapshot).filter((p) => p.metricKey.name.startsWith(id)))
      }),
    )
    const lines = text.trimEnd().split("\n")
    expect(lines).toEqual(
      expect.arrayContaining([
        `# HELP ${id}_runs_total Runs\\nby type`,
        `# TYPE ${id}_runs_total counter`,
        `${id}_runs_total{job_type="a\\"b\\\\c\\nd"} 2`,
        `${id}_runs_total{job_type="x"} 1`,
        `# TYPE ${id}_running gauge`,
        `${id}_running 3`,
        `# TYPE ${id}_latency_ms histogram`,
        `${id}_latency_ms_sum 135`,
        `${id}_latency_ms_count 4`,
        `# TYPE ${id}_size summary`,
        `${id}_size_sum 6`,
        `${id}_size_count 3`,
        `${id}_outcomes{key="ok"} 2`,
        `${id}_outcomes{key="failed"} 1`,
      ]),
    )
    // Cumulative buckets, in order, ending with +Inf.
    expect(lines.filter((l) => l.startsWith(`${id}_latency_ms_bucket`))).toEqual([
      `${id}_latency_ms_bucket{le="10"} 1`,
      `${id}_latency_ms_bucket{le="20"} 3`,
      `${id}_latency_ms_bucket{le="+Inf"} 4`,
    ])
    expect(lines.some((l) => /^t\d+_size\{quantile="0.5"\} \d+$/.test(l))).toBe(true)
    // One HELP/TYPE block per family, and the text ends with a newline.
    expect(lines.filter((l) => l === `# TYPE ${id}_runs_total counter`)).toHaveLength(1)
    expect(text.endsWith("\n")).toBe(true)
  })
})
