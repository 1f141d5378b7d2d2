// The dashboard (GET /jobsOverview): job types, their executions, trigger and cancel, live updates.
// Plain DOM and no dependencies: everything from the server is put into the page as text (never
// innerHTML), so job content, reasons and messages stay text. Its modules use the API's own types
// (type-only imports of ApiSchemas.ts and ApiErrors.ts, see api.ts), so an API change the dashboard
// does not follow is a type error. esbuild bundles them into one IIFE script, which Dashboard.ts
// inlines into index.html with a CSP allowing exactly that script: scripts/build.mjs writes the
// bundle into dist/ for the package; from source (tsx, vitest) Dashboard.ts bundles at first use.
import { afterActions } from "./actions.js"
import { $ } from "./dom.js"
import { disconnect, listen } from "./events.js"
import { refreshType, route } from "./router.js"
import { loadSummary, loadTypes, state } from "./state.js"
import { setUpTokenPanel, tokenChanged } from "./token.js"
import { url } from "./urls.js"
import { redrawOverview } from "./views/overview.js"

/** Next fire times move on: the summaries are read again this often. */
const summaryRefreshMs = 60_000

const start = async () => {
  $("host").textContent = `· ${location.hostname}`
  $("docs-link").setAttribute("href", url("docs"))
  afterActions(refreshType)
  setUpTokenPanel(async () => {
    disconnect()
    tokenChanged()
    if (await loadTypes()) await route()
  })
  window.addEventListener("hashchange", route)
  if (await loadTypes()) await route()
  listen()
  setInterval(async () => {
    await Promise.all(state.types.map(loadSummary))
    if (state.view.type === null && location.hash !== "#/audit") redrawOverview()
  }, summaryRefreshMs)
}

start()
