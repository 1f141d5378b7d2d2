// One job type: its state and buttons, schedule, timeline, trends (durations, days), events, a page
// of its history, and maybe the execution the hash names.
import { actionsFor } from "../actions.js"
import { call, errorText, type JobEventList, type JobList } from "../api.js"
import { badge, h, setMain, timeEl } from "../dom.js"
import { loadSummary, type Paging, state } from "../state.js"
import { timeline } from "../timeline.js"
import { dayStrip, durationChart, TrendExecutions } from "../trends.js"
import { enc } from "../urls.js"
import { renderDetails } from "./details.js"
import { historyTable } from "./history.js"
import { eventsSection } from "./jobEvents.js"
import { expectationBadges, pausedLine, scheduleText } from "./overview.js"
import { renderTabs } from "./tabs.js"

const pageSizes = [20, 50, 100]

let renderSeq = 0

/** `keepDetails`: reuse the open execution's panel (live updates about other executions). */
export const renderType = async (type: string, jobId: string | null, keepDetails = false): Promise<void> => {
  const seq = ++renderSeq
  const page: Paging =
    state.page.type === type
      ? state.page
      : { type, cursors: [undefined], limit: state.page.limit, data: null }
  state.page = page
  const before = page.cursors.at(-1)
  const [list, events, recent] = await Promise.all([
    call<JobList>("GET", `jobs/${enc(type)}?limit=${page.limit}${before ? `&before=${enc(before)}` : ""}`),
    call<JobEventList>("GET", `jobs/${enc(type)}/events?limit=20`),
    call<JobList>("GET", `jobs/${enc(type)}?limit=${TrendExecutions}`),
    before === undefined ? Promise.resolve() : loadSummary(type),
  ])
  const shown = document.getElementById("details")
  const details = !jobId
    ? null
    : keepDetails && shown?.dataset.jobId === jobId
      ? shown
      : await renderDetails(type, jobId)
  if (seq !== renderSeq) return // a newer render started meanwhile
  // The operator went elsewhere (the audit log, the overview, another type) while this one loaded:
  // drawing it now would replace the view they asked for (a live refresh racing a tab click).
  if (state.view.type !== type || location.hash === "#/audit") return
  if (!list.ok) {
    // A failed refresh keeps what is shown (the live pill tells about the store); only an
    // empty view shows the error instead.
    if (document.getElementById("type-header")?.dataset.type !== type)
      setMain(h("p", { class: "alert alert-error", text: errorText(`Loading ${type}`, list) }))
    return
  }
  page.data = list.body
  if (before === undefined) state.summaries.set(type, { ...list.body, jobs: list.body.jobs.slice(0, 1) })
  renderTabs()
  const summary = state.summaries.get(type)
  const latest = summary?.jobs?.[0]
  const jobs = list.body.jobs
  setMain(
    h(
      "div",
      { class: "section", id: "type-header", dataset: { type } },
      h("h2", {}, `${type} `, badge(latest?.jobState), " ", ...expectationBadges(summary)),
      pausedLine(summary),
      actionsFor(type),
    ),
    h(
      "div",
      { class: "section", id: "schedule" },
      h("h2", { text: "Schedule" }),
      summary?.cron
        ? h(
            "p",
            {},
            h("code", { text: `[ ${summary.cron} ]` }),
            " ",
            h("span", { class: "cron-text", text: scheduleText(summary) }),
          )
        : h("p", { class: "muted", text: "no cron expression set" }),
      summary?.nextRuns?.length
        ? h(
            "ol",
            { class: "next-runs" },
            summary.nextRuns.map((r) => h("li", {}, timeEl(r))),
          )
        : null,
    ),
    h(
      "div",
      { class: "section" },
      h("h2", { text: "Timeline" }),
      jobs.length ? timeline(jobs) : h("p", { class: "muted", text: "no executions yet" }),
    ),
    h(
      "div",
      { class: "section", id: "trends" },
      h("h2", { text: "Trends" }),
      recent.ok && recent.body.jobs.length
        ? [
            h("h3", { text: "Durations" }),
            durationChart(recent.body.jobs),
            h("h3", { text: "Per day" }),
            dayStrip(recent.body.jobs, recent.body.next === null),
          ]
        : h("p", {
            class: "muted",
            text: recent.ok ? "no executions yet" : errorText("Loading trends", recent),
          }),
    ),
    eventsSection(events.ok ? events.body : null),
    h(
      "div",
      { class: "section" },
      h("h2", { text: "History" }),
      jobs.length
        ? historyTable(type, jobs)
        : h("p", { class: "muted", id: "history-empty", text: "no executions on this page" }),
      h(
        "div",
        { class: "pager" },
        h("button", {
          type: "button",
          class: "btn btn-light newer",
          text: "‹ Newer",
          disabled: page.cursors.length <= 1,
          onclick: () => {
            page.cursors.pop()
            renderType(type, state.view.jobId)
          },
        }),
        h("button", {
          type: "button",
          class: "btn btn-light older",
          text: "Older ›",
          disabled: !list.body.next,
          onclick: () => {
            page.cursors.push(jobs.at(-1)!.jobId)
            renderType(type, state.view.jobId)
          },
        }),
        h("span", { class: "muted", text: `page ${page.cursors.length}` }),
        h(
          "select",
          {
            "aria-label": "Page size",
            onchange: (e: Event) => {
              page.limit = Number((e.target as HTMLSelectElement).value)
              page.cursors = [undefined]
              renderType(type, state.view.jobId)
            },
          },
          pageSizes.map((n) => h("option", { value: n, selected: n === page.limit, text: `${n} per page` })),
        ),
      ),
    ),
    details,
  )
}
