// What the dashboard knows, and the loads that fill it in.
import { call, errorText, type JobList, type JobTypes } from "./api.js"
import { $, h, setMain } from "./dom.js"
import { enc } from "./urls.js"

/** The pages of one job type's history: a cursor per page (the first has none). */
export interface Paging {
  type: string | null
  cursors: Array<string | undefined>
  limit: number
  data: JobList | null
}

/** Job types per overview page: a service with 10,000 gets pages and a search, not 10,000 cards. */
export const OverviewPageSize = 48
/** Up to this many job types (and no search), each has its own tab. */
export const MaxTypeTabs = 12

export const state: {
  /** The overview page's job types. */
  types: ReadonlyArray<string>
  /**
   * The overview's search and group ("" for all), its pages' cursors (the first has none), how many
   * types match, and the groups of the types the search matches.
   */
  overview: {
    q: string
    group: string
    cursors: Array<string | undefined>
    total: number
    hasNext: boolean
    groups: JobTypes["groups"]
  }
  readOnly: boolean
  /** jobType -> its list with limit 1: latest, cron, nextRuns. */
  readonly summaries: Map<string, JobList>
  /** What the hash (#/type/<type>/<jobId>) shows; type null: the overview. */
  view: { readonly type: string | null; readonly jobId: string | null }
  page: Paging
  /** Why the store is unavailable, while it is. */
  storeDown: string | null
} = {
  types: [],
  overview: { q: "", group: "", cursors: [undefined], total: 0, hasNext: false, groups: [] },
  readOnly: false,
  summaries: new Map(),
  view: { type: null, jobId: null },
  page: { type: null, cursors: [undefined], limit: 20, data: null },
  storeDown: null,
}

export const loadSummary = async (type: string) => {
  const res = await call<JobList>("GET", `jobs/${enc(type)}?limit=1`)
  if (res.ok) state.summaries.set(type, res.body)
  return res
}

/**
 * The overview page's job types (its search and page: state.overview), read-only mode and those
 * types' summaries; false (an error shown) when that fails.
 */
export const loadTypes = async () => {
  const { q, group, cursors } = state.overview
  const after = cursors[cursors.length - 1]
  // all=true: every registered job type, in the ha-jobs mode too (where /jobs lists those that ran).
  const query = `all=true&limit=${OverviewPageSize}${q ? `&q=${enc(q)}` : ""}${group ? `&group=${enc(group)}` : ""}${after ? `&after=${enc(after)}` : ""}`
  const res = await call<JobTypes>("GET", `jobs?${query}`)
  if (!res.ok) {
    setMain(h("p", { class: "alert alert-error", text: errorText("Loading job types", res) }))
    return false
  }
  state.types = res.body.jobTypes
  state.overview.total = res.body.total
  state.overview.groups = res.body.groups
  state.overview.hasNext = res.body.next !== null
  state.readOnly = res.body.readOnly === true
  $("read-only").hidden = !state.readOnly
  await Promise.all(state.types.map(loadSummary))
  return true
}

/** Whether every job type has a tab: few of them, no search. */
export const typeTabs = () =>
  state.overview.q === "" && state.overview.group === "" && state.overview.total <= MaxTypeTabs
