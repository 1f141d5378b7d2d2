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

/** Reads the view from the hash (an unknown job type shows the overview) and draws it. */
export const route = () => {
  const m = /^#\/type\/([^/]+)(?:\/([^/]+))?$/.exec(location.hash)
  const type = m ? decodeURIComponent(m[1]!) : null
  state.view = {
    type: type && state.types.includes(type) ? type : null,
    jobId: m?.[2] ? decodeURIComponent(m[2]) : null,
  }
  render()
}
