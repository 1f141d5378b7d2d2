import * as fs from "node:fs"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"

// docs/alerts.yml is shipped for users to load into Prometheus: it must parse, have the shape of a
// rule file, and name only metrics the server exports (every metric is defined once, in Metrics.ts).
const exported = new Set(
  [
    ...fs
      .readFileSync("src/domain/Metrics.ts", "utf8")
      .matchAll(/Metric\.(?:counter|gauge|histogram)\(\s*"([a-z_]+)"/g),
  ].map((m) => m[1]!),
)
const metricsIn = (expr: string) => [...expr.matchAll(/\bha_jobs_[a-z_]+/g)].map((m) => m[0])

interface Rule {
  readonly alert: string
  readonly expr: string
  readonly for?: string
  readonly labels?: Record<string, string>
  readonly annotations?: Record<string, string>
}

describe("docs/alerts.yml", () => {
  const file = parse(fs.readFileSync("docs/alerts.yml", "utf8")) as {
    groups: Array<{ name: string; rules: Array<Rule> }>
  }
  const rules = file.groups.flatMap((g) => g.rules)

  it("is a Prometheus rule file: groups of named rules, each with an expression and a summary", () => {
    expect(file.groups.length).toBeGreaterThan(0)
    for (const rule of rules) {
      expect(rule.alert, JSON.stringify(rule)).toMatch(/^HaJobs[A-Z][A-Za-z]+$/)
      expect(typeof rule.expr).toBe("string")
      expect(rule.annotations?.summary).toBeTruthy()
      if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smhd]$/)
    }
  })

  it("covers what the README says to alert on: overdue, overrunning, lease losses, dead executions, missed slots", () => {
    const used = new Set(rules.flatMap((r) => metricsIn(r.expr)))
    for (const metric of [
      "ha_jobs_overdue",
      "ha_jobs_overrunning",
      "ha_jobs_lease_losses_total",
      "ha_jobs_dead_total",
      "ha_jobs_missed_slots_total",
    ])
      expect(used, metric).toContain(metric)
  })

  it("names only metrics the server exports (a renamed metric fails here)", () => {
    expect(exported.size).toBeGreaterThan(10)
    expect(exported).toContain("ha_jobs_last_success_timestamp_seconds")
    for (const rule of rules)
      for (const metric of metricsIn(rule.expr))
        expect(exported, `${rule.alert}: ${metric}`).toContain(metric)
    // The check itself can fail: a name the server does not export is caught.
    expect(exported).not.toContain(metricsIn("rate(ha_jobs_no_such_metric_total[5m])")[0])
  })
})
