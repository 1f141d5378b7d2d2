// The overview: a card per job type with its latest execution and its schedule.
import type { JobList } from "../api.js"
import { badge, h, setMain, shortId, stateClass, timeEl } from "../dom.js"
import { state } from "../state.js"
import { typeHref } from "../urls.js"
import { clusterSection } from "./cluster.js"

/** "Paused since <time> by <who>: <note>" for a paused job type, else nothing. */
export const pausedLine = (summary: JobList | undefined) => {
  const pause = summary?.paused
  if (!pause) return null
  return h(
    "p",
    { class: "paused-note" },
    h("strong", { text: "Paused" }),
    " since ",
    timeEl(pause.since),
    ` by ${pause.by}`,
    pause.until ? " until " : null,
    pause.until ? timeEl(pause.until) : null,
    pause.blockManual ? " (manual runs blocked too)" : null,
    pause.note ? `: ${pause.note}` : null,
  )
}

/**
 * Red badges for a job type that has not succeeded within its `expect.successWithin` (overdue) or
 * has executions past its `maxDuration` (overrunning), with the deadline in the title.
 */
export const expectationBadges = (summary: JobList | undefined) => {
  const e = summary?.expectations
  if (!e) return []
  return [
    e.overdueSince
      ? h("span", {
          class: "badge overdue",
          text: "OVERDUE",
          title: `no success within ${e.successWithin} (since ${e.overdueSince})`,
        })
      : null,
    e.overrunning.length > 0
      ? h("span", {
          class: "badge overrunning",
          text: `OVERRUNNING ${e.overrunning.length}`,
          title: `running longer than ${e.maxDuration}: ${e.overrunning.join(", ")}`,
        })
      : null,
  ]
}

/** The cron in English, with its time zone. */
export const scheduleText = (summary: JobList | undefined) =>
  summary?.cron
    ? `${summary.cronDescription ?? summary.cron}${summary.timeZone && summary.timeZone !== "UTC" ? ` (${summary.timeZone})` : summary.timeZone ? " (UTC)" : ""}`
    : "no cron expression set"

const renderCard = (type: string) => {
  const summary = state.summaries.get(type)
  const latest = summary?.jobs?.[0]
  return h(
    "article",
    { class: `card ${stateClass(latest?.jobState)}${summary?.paused ? " paused" : ""}`, dataset: { type } },
    h(
      "h3",
      {},
      h("a", { href: typeHref(type), text: type }),
      badge(latest?.jobState),
      latest ? badge(latest.jobResult) : null,
      ...expectationBadges(summary),
    ),
    pausedLine(summary),
    h(
      "dl",
      {},
      h("dt", { text: "Latest" }),
      h(
        "dd",
        {},
        latest
          ? h("a", { class: "mono", href: typeHref(type, latest.jobId), text: shortId(latest.jobId) })
          : "–",
      ),
      h("dt", { text: "Updated" }),
      h("dd", {}, latest ? timeEl(latest.jobStatusTs) : "–"),
      h("dt", { text: "Duration" }),
      h("dd", { text: latest?.duration ?? "–" }),
      latest?.reason ? h("dt", { text: "Reason" }) : null,
      latest?.reason ? h("dd", { class: "reason", text: latest.reason }) : null,
      h("dt", { text: "Schedule" }),
      h("dd", { class: "schedule", text: scheduleText(summary) }),
      summary?.nextRuns?.length ? h("dt", { text: "Next run" }) : null,
      summary?.nextRuns?.length ? h("dd", {}, timeEl(summary.nextRuns[0])) : null,
    ),
  )
}

export const renderOverview = () => {
  setMain(
    h("h2", { text: "Latest executions" }),
    state.types.length === 0 ? h("p", { class: "muted", text: "No job types are registered." }) : null,
    h("div", { class: "cards", id: "cards" }, state.types.map(renderCard)),
    clusterSection(),
  )
}
