// The overview: a card per job type with its latest execution and its schedule, a page of them at a
// time, with a search over the job types' names (the server filters and pages: GET /jobs).
import type { JobList } from "../api.js"
import { $, badge, h, setMain, shortId, stateClass, timeEl } from "../dom.js"
import { loadTypes, OverviewPageSize, state } from "../state.js"
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

/** "1–48 of 10000" with Previous and Next, for the overview's pages (state.overview). */
const pager = () => {
  const { cursors, total, hasNext } = state.overview
  const first = (cursors.length - 1) * OverviewPageSize
  const go = (change: (cursors: Array<string | undefined>) => void) => async () => {
    change(state.overview.cursors)
    if (await loadTypes()) refreshCards()
  }
  return [
    h("span", {
      class: "muted",
      text:
        total === 0
          ? ""
          : `${first + 1}–${first + state.types.length} of ${total} job type${total === 1 ? "" : "s"}`,
    }),
    h("button", {
      type: "button",
      class: "btn btn-light",
      text: "Previous",
      dataset: { page: "previous" },
      disabled: cursors.length === 1,
      onclick: go((c) => c.pop()),
    }),
    h("button", {
      type: "button",
      class: "btn btn-light",
      text: "Next",
      dataset: { page: "next" },
      disabled: !hasNext,
      onclick: go((c) => c.push(state.types[state.types.length - 1])),
    }),
  ]
}

const emptyText = () => {
  const { q, group } = state.overview
  if (q && group) return `No job type of group "${group}" contains "${q}".`
  if (q) return `No job type contains "${q}".`
  return group ? `No job type is in group "${group}".` : "No job types are registered."
}

/**
 * The group picker (see groupOf in domain/Names.ts): shown once the job types (matching the search)
 * fall into two groups or more, or while one is picked.
 */
const groupPicker = () => {
  const { groups, group } = state.overview
  if (groups.length < 2 && group === "") return []
  const options =
    groups.some((g) => g.name === group) || group === "" ? groups : [{ name: group, count: 0 }, ...groups]
  return [
    h(
      "select",
      {
        id: "overview-group",
        "aria-label": "Job type group",
        onchange: async (event: Event) => {
          state.overview.group = (event.target as HTMLSelectElement).value
          state.overview.cursors = [undefined]
          if (await loadTypes()) refreshCards()
          $("overview-group")?.focus()
        },
      },
      h("option", { value: "", text: "All groups", selected: group === "" }),
      ...options.map((g) =>
        h("option", { value: g.name, text: `${g.name} (${g.count})`, selected: g.name === group }),
      ),
    ),
  ]
}

/** Redraws the cards, the group picker and the pager, not the search box (which keeps its focus and caret). */
const refreshCards = () => {
  $("cards").replaceChildren(...state.types.map(renderCard))
  $("overview-groups").replaceChildren(...groupPicker())
  $("overview-pager").replaceChildren(...pager())
  $("overview-empty").textContent = state.types.length === 0 ? emptyText() : ""
}

let searchTimer: ReturnType<typeof setTimeout> | undefined
const onSearch = (event: Event) => {
  const q = (event.target as HTMLInputElement).value.trim()
  clearTimeout(searchTimer)
  searchTimer = setTimeout(async () => {
    state.overview.q = q
    state.overview.cursors = [undefined]
    if (await loadTypes()) refreshCards()
  }, 250)
}

/** The overview again with fresh summaries, keeping the search box (and its focus) when it is shown. */
export const redrawOverview = () => (document.getElementById("cards") ? refreshCards() : renderOverview())

export const renderOverview = () => {
  setMain(
    h("h2", { text: "Latest executions" }),
    h(
      "div",
      { class: "overview-bar" },
      h("input", {
        type: "search",
        id: "overview-search",
        placeholder: "Search job types",
        "aria-label": "Search job types",
        value: state.overview.q,
        oninput: onSearch,
      }),
      h("span", { id: "overview-groups" }, groupPicker()),
      h("span", { id: "overview-pager", class: "pager" }, pager()),
    ),
    h("p", { class: "muted", id: "overview-empty", text: state.types.length === 0 ? emptyText() : "" }),
    h("div", { class: "cards", id: "cards" }, state.types.map(renderCard)),
    clusterSection(),
  )
}
