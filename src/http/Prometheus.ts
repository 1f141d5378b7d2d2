import { HttpApiBuilder } from "@effect/platform"
import { Effect, Metric, type MetricKey, type MetricPair, MetricState, Option } from "effect"
import { HaJobsApi } from "./Api.js"

/**
 * Prometheus text format (0.0.4) of Effect metric snapshots: counters, gauges, histograms
 * (cumulative buckets, `_sum`, `_count`), summaries (quantiles) and frequencies (one series per
 * value, label `key`). Series sharing a name share one HELP/TYPE block.
 */
export const render = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>): string => {
  const families = new Map<string, { type: string; help: string; lines: Array<string> }>()
  // Stable output: series sorted by name and labels; bucket lines keep their order.
  const sorted = [...pairs].sort((a, b) => compare(seriesId(a.metricKey), seriesId(b.metricKey)))
  for (const { metricKey, metricState } of sorted) {
    const name = metricName(metricKey.name)
    const labels = [...metricKey.tags].map((t) => [t.key, t.value] as const)
    const sample = (
      suffix: string,
      value: number | bigint,
      extra: ReadonlyArray<readonly [string, string]> = [],
    ) => `${name}${suffix}${labelText([...labels, ...extra])} ${numberText(value)}`
    let type: string
    const lines: Array<string> = []
    if (MetricState.isCounterState(metricState)) {
      type = "counter"
      lines.push(sample("", metricState.count))
    } else if (MetricState.isGaugeState(metricState)) {
      type = "gauge"
      lines.push(sample("", metricState.value))
    } else if (MetricState.isHistogramState(metricState)) {
      type = "histogram"
      let sawInfinity = false
      for (const [bound, count] of metricState.buckets) {
        sawInfinity ||= bound === Number.POSITIVE_INFINITY
        lines.push(sample("_bucket", count, [["le", boundText(bound)]]))
      }
      if (!sawInfinity) lines.push(sample("_bucket", metricState.count, [["le", "+Inf"]]))
      lines.push(sample("_sum", metricState.sum), sample("_count", metricState.count))
    } else if (MetricState.isSummaryState(metricState)) {
      type = "summary"
      for (const [quantile, value] of metricState.quantiles)
        lines.push(
          sample(
            "",
            Option.getOrElse(value, () => Number.NaN),
            [["quantile", String(quantile)]],
          ),
        )
      lines.push(sample("_sum", metricState.sum), sample("_count", metricState.count))
    } else if (MetricState.isFrequencyState(metricState)) {
      type = "counter"
      for (const [key, count] of metricState.occurrences) lines.push(sample("", count, [["key", key]]))
    } else continue
    const family = families.get(name)
    if (family === undefined)
      families.set(name, { type, help: Option.getOrElse(metricKey.description, () => name), lines })
    else if (family.type === type) family.lines.push(...lines)
    // A name reused with another type would make the whole scrape invalid: keep the first.
  }
  const out: Array<string> = []
  for (const [name, family] of families) {
    out.push(`# HELP ${name} ${family.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`)
    out.push(`# TYPE ${name} ${family.type}`)
    out.push(...family.lines)
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

const seriesId = (key: MetricKey.MetricKey.Untyped) =>
  `${key.name}${labelText([...key.tags].map((t) => [t.key, t.value] as const))}`

const metricName = (name: string) => {
  const cleaned = name.replace(/[^a-zA-Z0-9_:]/g, "_")
  return /^[a-zA-Z_:]/.test(cleaned) ? cleaned : `_${cleaned}`
}

const labelText = (labels: ReadonlyArray<readonly [string, string]>) =>
  labels.length === 0
    ? ""
    : `{${labels
        .map(
          ([k, v]) =>
            `${k.replace(/[^a-zA-Z0-9_]/g, "_")}="${v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')}"`,
        )
        .join(",")}}`

const numberText = (value: number | bigint) => {
  if (typeof value === "bigint") return value.toString()
  if (Number.isNaN(value)) return "NaN"
  if (value === Number.POSITIVE_INFINITY) return "+Inf"
  if (value === Number.NEGATIVE_INFINITY) return "-Inf"
  return String(value)
}

const boundText = (bound: number) => (bound === Number.POSITIVE_INFINITY ? "+Inf" : String(bound))

export const layer = HttpApiBuilder.group(HaJobsApi, "metrics", (handlers) =>
  handlers.handle("metrics", () => Effect.map(Metric.snapshot, render)),
)
