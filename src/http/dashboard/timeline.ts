// The timeline of a job type's recent executions, drawn as SVG.
import type { Status } from "./api.js"
import { h, stateClass, svg } from "./dom.js"
import { typeHref } from "./urls.js"

/** Most lanes bars are packed into; beyond, a bar goes into the lane that ends first. */
const maxLanes = 4
const laneH = 22
const top = 4

/**
 * Recent executions on a time axis (one bar from start to last status; running ones reach now),
 * packed into a few lanes; positions are percentages, so the chart follows the page width.
 */
export const timeline = (jobs: ReadonlyArray<Status>) => {
  const wrap = h("div", { class: "timeline", id: "timeline" })
  if (jobs.length === 0) return wrap
  const now = Date.now()
  const spans = jobs
    .map((j) => {
      const start = Date.parse(j.startTime)
      const last = Date.parse(j.jobStatusTs)
      const end = j.jobResult === "PENDING" ? Math.max(now, last) : last
      return { j, start, end: Math.max(end, start) }
    })
    .sort((a, b) => a.start - b.start)
  const min = Math.min(...spans.map((s) => s.start))
  const max = Math.max(...spans.map((s) => s.end), min + 60_000)
  const pct = (t: number) => 1 + ((t - min) / (max - min)) * 98
  const lanes: Array<number> = [] // the right edge (in %) of each lane's last bar
  const placed = spans.map((s) => {
    const x = pct(s.start)
    const w = Math.max(0.4, pct(s.end) - x)
    let lane = lanes.findIndex((end) => end + 0.2 <= x)
    if (lane < 0 && lanes.length < maxLanes) lane = lanes.push(0) - 1
    if (lane < 0) lane = lanes.indexOf(Math.min(...lanes))
    lanes[lane] = x + w
    return { ...s, x, w, lane }
  })
  const plot = top + lanes.length * laneH
  const height = plot + 18
  const range = max - min
  const hm = { hour: "2-digit", minute: "2-digit" } as const
  const label = (t: number) =>
    range < 3_600_000
      ? new Date(t).toLocaleTimeString([], { ...hm, second: "2-digit" })
      : range < 86_400_000
        ? new Date(t).toLocaleTimeString([], hm)
        : new Date(t).toLocaleString([], { month: "short", day: "numeric", ...hm })
  const chart = svg("svg", {
    width: "100%",
    height,
    role: "img",
    "aria-label": "Timeline of recent executions",
  })
  for (let i = 0; i <= 4; i++) {
    const t = min + ((max - min) * i) / 4
    const x = `${pct(t)}%`
    chart.append(
      svg("line", { x1: x, x2: x, y1: 0, y2: plot, class: "tick" }),
      svg(
        "text",
        { x, y: height - 4, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" },
        label(t),
      ),
    )
  }
  for (const s of placed) {
    const rect = svg("rect", {
      class: `bar ${stateClass(s.j.jobState)}`,
      x: `${s.x}%`,
      y: top + s.lane * laneH,
      width: `${s.w}%`,
      height: laneH - 6,
      rx: 3,
      onclick: () => {
        location.hash = typeHref(s.j.jobType, s.j.jobId)
      },
    })
    rect.append(svg("title", {}, `${s.j.jobState} · ${new Date(s.start).toLocaleString()} · ${s.j.duration}`))
    chart.append(rect)
  }
  wrap.append(chart)
  return wrap
}
