// The hash is the view: "#/" the overview, "#/type/<type>" a job type, "#/type/<type>/<jobId>" with
// one of its executions open, "#/audit" the audit log.
import { loadSummary, state } from "./state.js"
import { renderAudit } from "./views/audit.js"
import { renderType } from "./views/jobType.js"
import { renderOverview } from "./views/overview.js"
import { renderTabs } from "./views/tabs.js"

/** Draws the current view. */
export const render = () => {
  renderTabs()
  if (location.hash === "#/audit") renderAudit()
  else if (state.view.type === null) renderOverview()
  else renderType(state.view.type, state.view.jobId)
}

/** After a trigger or cancel: the job type's summary, and its view if it is shown. */
export const refreshType = async (type: string) => {
  await loadSummary(type)
  if (state.view.type === type) await renderType(type, state.view.jobId)
  else render()
}

/**
 * Reads the view from the hash and draws it. A job type not on the overview's page (a link, a
 * search) is looked up first; an unknown one shows the overview.
 */
export const route = async () => {
  const m = /^#\/type\/([^/]+)(?:\/([^/]+))?$/.exec(location.hash)
  const type = m ? decodeURIComponent(m[1]!) : null
  const known =
    type !== null && (state.types.includes(type) || state.summaries.has(type) || (await loadSummary(type)).ok)
  state.view = {
    type: known ? type : null,
    jobId: m?.[2] ? decodeURIComponent(m[2]) : null,
  }
  render()
}
