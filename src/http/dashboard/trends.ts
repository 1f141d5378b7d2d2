// A job type's trends, drawn as SVG from its newest executions (one list read): how long each of the
// last runs took, and how each of the last days went. Positions are percentages, so the charts
// follow the page width; every mark has a <title> saying what it stands for.
import type { Status } from "./api.js"
import { h, stateClass, svg } from "./dom.js"
import { typeHref } from "./urls.js"

/** Ended executions drawn in the durations chart, newest on the right. */
export const DurationBars = 50
/** Days in the strip, today (UTC) on the right. */
export const StripDays = 14
/** Executions read for both: the strip covers the days these reach back to. */
export const TrendExecutions = 200

const chartH = 80
const dayMs = 86_400_000

const durationMs = (s: Status) => Math.max(0, Date.parse(s.jobStatusTs) - Date.parse(s.startTime))

const inWords = (ms: number) =>
  ms < 1_000
    ? `${ms} ms`
    : ms < 120_000
      ? `${(ms / 1_000).toFixed(ms < 10_000 ? 1 : 0)} s`
      : ms < 7_200_000
        ? `${(ms / 60_000).toFixed(0)} min`
        : `${(ms / 3_600_000).toFixed(1)} h`

/** One bar per ended execution (oldest left), its height its duration, its colour its state. */
export const durationChart = (jobs: ReadonlyArray<Status>) => {
  const ended = jobs
    .filter((j) => j.jobResult !== "PENDING")
    .slice(0, DurationBars)
    .reverse()
  const wrap = h("div", { class: "trend", id: "durations" })
  if (ended.length === 0) return wrap
  const max = Math.max(...ended.map(durationMs), 1)
  const slot = 100 / ended.length
  const chart = svg("svg", {
    width: "100%",
    height: chartH + 4,
    role: "img",
    "aria-label": `Durations of the last ${ended.length} executions, longest ${inWords(max)}`,
  })
  chart.append(svg("line", { x1: "0%", x2: "100%", y1: chartH, y2: chartH, class: "tick" }))
  ended.forEach((j, i) => {
    const ms = durationMs(j)
    // Never invisible: a run of a few milliseconds still gets a sliver to hover and click.
    const height = Math.max(2, Math.round((ms / max) * (chartH - 4)))
    const bar = svg("rect", {
      class: `bar ${stateClass(j.jobState)}`,
      x: `${i * slot + slot * 0.15}%`,
      width: `${slot * 0.7}%`,
      y: chartH - height,
      height,
      "data-ms": ms,
      onclick: () => {
        location.hash = typeHref(j.jobType, j.jobId)
      },
    })
    bar.append(svg("title", {}, `${j.jobState} · ${new Date(j.startTime).toLocaleString()} · ${inWords(ms)}`))
    chart.append(bar)
  })
  wrap.append(
    chart,
    h("p", { class: "muted axis", text: `longest ${inWords(max)}; oldest left, newest right` }),
  )
  return wrap
}

/** How a day went: no ended runs; all succeeded; all failed; some of each. */
type DayKind = "none" | "ok" | "bad" | "mixed"

/**
 * One cell per UTC day of the last StripDays: green when every run that ended that day succeeded,
 * red when every one failed, amber for both, grey for none. `from` is the oldest start the list
 * reaches: days before it are unknown (hatched), not "no runs".
 */
export const dayStrip = (jobs: ReadonlyArray<Status>, complete: boolean, now = Date.now()) => {
  const today = Math.floor(now / dayMs)
  const oldest = jobs.length === 0 ? now : Math.min(...jobs.map((j) => Date.parse(j.startTime)))
  const counts = new Map<number, { ok: number; bad: number }>()
  for (const j of jobs) {
    if (j.jobResult === "PENDING") continue
    const day = Math.floor(Date.parse(j.jobStatusTs) / dayMs)
    const c = counts.get(day) ?? { ok: 0, bad: 0 }
    if (j.jobResult === "SUCCESS") c.ok++
    else c.bad++
    counts.set(day, c)
  }
  const strip = svg("svg", {
    width: "100%",
    height: 26,
    role: "img",
    "aria-label": `Successes and failures per day, the last ${StripDays} days (UTC)`,
  })
  const slot = 100 / StripDays
  for (let i = 0; i < StripDays; i++) {
    const day = today - (StripDays - 1 - i)
    const date = new Date(day * dayMs).toISOString().slice(0, 10)
    const c = counts.get(day) ?? { ok: 0, bad: 0 }
    const unknown = !complete && (day + 1) * dayMs <= oldest
    const kind: DayKind = c.ok + c.bad === 0 ? "none" : c.bad === 0 ? "ok" : c.ok === 0 ? "bad" : "mixed"
    const cell = svg("rect", {
      class: `day day-${unknown && kind === "none" ? "unknown" : kind}`,
      x: `${i * slot + 0.3}%`,
      width: `${slot - 0.6}%`,
      y: 2,
      height: 22,
      rx: 3,
      "data-date": date,
      "data-ok": c.ok,
      "data-failed": c.bad,
    })
    cell.append(
      svg(
        "title",
        {},
        unknown && kind === "none"
          ? `${date}: older than the newest ${TrendExecutions} executions`
          : `${date}: ${c.ok} succeeded, ${c.bad} failed`,
      ),
    )
    strip.append(cell)
  }
  return h(
    "div",
    { class: "trend", id: "days" },
    strip,
    h("p", { class: "muted axis", text: `the last ${StripDays} days (UTC), today right` }),
  )
}
