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

export const state: {
  types: ReadonlyArray<string>
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

/** The job types, read-only mode and every type's summary; false (an error shown) when that fails. */
export const loadTypes = async () => {
  const res = await call<JobTypes>("GET", "jobs")
  if (!res.ok) {
    setMain(h("p", { class: "alert alert-error", text: errorText("Loading job types", res) }))
    return false
  }
  state.types = res.body.jobTypes
  state.readOnly = res.body.readOnly === true
  $("read-only").hidden = !state.readOnly
  await Promise.all(state.types.map(loadSummary))
  return true
}
