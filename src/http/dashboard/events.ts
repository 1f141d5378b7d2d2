// Live updates: the server-sent events of /events, read with fetch (not EventSource) so the token
// goes in a header. A status event redraws what it concerns; a store event sets the pill; an audit
// event (a pause elsewhere) reloads its job type's summary; a job event redraws its job type's page
// (its events list); an expectation event sets or clears the OVERDUE / OVERRUNNING badges.
import type { AuditEvent, ExpectationEvent, JobEventFrame, Status, StatusEvent, StoreEvent } from "./api.js"
import { $ } from "./dom.js"
import { notify } from "./feedback.js"
import { loadSummary, state } from "./state.js"
import { headers, nextToken, showTokenPanel } from "./token.js"
import { url } from "./urls.js"
import { renderAudit } from "./views/audit.js"
import { renderType } from "./views/jobType.js"
import { redrawOverview } from "./views/overview.js"
import { renderTabs } from "./views/tabs.js"

/** Wait before a new connection after one ended or failed. */
const reconnectMs = 2000
/** Bursts of events are folded into one redraw after this quiet time. */
const foldMs = 150

const setLive = (text: string, kind?: "live" | "down") => {
  const el = $("live")
  el.textContent = text
  el.className = `pill ${kind ?? ""}`
}

const pending = new Set<string>()
let flushTimer: ReturnType<typeof setTimeout> | undefined
const changedJobs = new Set<string>()

/** Whether two latest statuses are the same write (a stream starts with the state the page has). */
const sameStatus = (a: Status | null, b: Status | null) =>
  a === b ||
  (a !== null &&
    b !== null &&
    a.jobId === b.jobId &&
    a.jobStatusTs === b.jobStatusTs &&
    a.jobState === b.jobState)

const onStatus = ({ jobType, latest }: StatusEvent) => {
  const summary = state.summaries.get(jobType)
  // Nothing new (a new stream's first frames): no redraw, no summary read again.
  if (summary && sameStatus(summary.jobs[0] ?? null, latest)) return
  if (summary) state.summaries.set(jobType, { ...summary, jobs: latest ? [latest] : [] })
  if (latest) changedJobs.add(latest.jobId)
  redraw(jobType)
}

/** A decision about a slot: only its job type's page lists events. */
const onJobEvent = ({ jobType }: JobEventFrame) => {
  if (state.view.type === jobType) redraw(jobType)
}

const onExpectation = ({ jobType, expectations }: ExpectationEvent) => {
  const summary = state.summaries.get(jobType)
  if (summary) state.summaries.set(jobType, { ...summary, expectations })
  redraw(jobType)
}

/** Redraws what shows `jobType`, once for a burst of events. */
const redraw = (jobType: string) => {
  pending.add(jobType)
  clearTimeout(flushTimer)
  flushTimer = setTimeout(async () => {
    const types = [...pending]
    const keepDetails = state.view.jobId === null || !changedJobs.has(state.view.jobId)
    pending.clear()
    changedJobs.clear()
    renderTabs()
    // The audit log shows no statuses (its own frames refresh it): a run ending must not replace it
    // with the overview, whose view is also "no job type".
    if (location.hash === "#/audit") return
    if (state.view.type === null) {
      // Fresh next runs too; of the overview page's job types only (a stream tells of all of them).
      await Promise.all(types.filter((t) => state.types.includes(t)).map(loadSummary))
      if (state.view.type === null && location.hash !== "#/audit") redrawOverview()
    } else if (types.includes(state.view.type) && state.page.cursors.length <= 1) {
      await renderType(state.view.type, state.view.jobId, keepDetails)
    }
  }, foldMs)
}

/** An operator action anywhere: its job type may be paused or resumed now; the audit view grows. */
const onAudit = async ({ jobType }: AuditEvent) => {
  await loadSummary(jobType)
  if (location.hash === "#/audit") await renderAudit()
  else if (state.view.type === null) redrawOverview()
  else if (state.view.type === jobType) await renderType(jobType, state.view.jobId, true)
}

const onStore = (event: StoreEvent) => {
  state.storeDown = event.ok ? null : event.message
  if (event.ok) setLive("live", "live")
  else {
    setLive("store unavailable", "down")
    notify("error", event.message)
  }
}

/** One event ("event:" and "data:" lines); comments and unknown events are ignored. */
const handleBlock = (block: string) => {
  let event = "message"
  const data: Array<string> = []
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue
    const i = line.indexOf(":")
    const field = i < 0 ? line : line.slice(0, i)
    const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "")
    if (field === "event") event = value
    else if (field === "data") data.push(value)
  }
  if (data.length === 0) return
  let payload: unknown
  try {
    payload = JSON.parse(data.join("\n"))
  } catch {
    return
  }
  if (event === "status") onStatus(payload as StatusEvent)
  else if (event === "store") onStore(payload as StoreEvent)
  else if (event === "audit") void onAudit(payload as AuditEvent)
  else if (event === "jobEvent") onJobEvent(payload as JobEventFrame)
  else if (event === "expectation") onExpectation(payload as ExpectationEvent)
}

let connection: AbortController | null = null

/** Ends the current stream (a new token was saved); `listen` opens the next. */
export const disconnect = () => connection?.abort()

/** Listens for ever: reconnects after 2 s, and waits for a token after a 401. */
export const listen = async () => {
  for (;;) {
    const controller = new AbortController()
    connection = controller
    try {
      setLive("connecting…")
      const res = await fetch(url("events"), {
        headers: headers({ accept: "text/event-stream" }),
        cache: "no-store",
        signal: controller.signal,
      })
      if (res.status === 401) {
        setLive("needs token", "down")
        showTokenPanel("Live updates need the API token.")
        await nextToken()
        continue
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`)
      if (!state.storeDown) setLive("live", "live")
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
      let buffer = ""
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        buffer += value
        let end = buffer.indexOf("\n\n")
        while (end >= 0) {
          handleBlock(buffer.slice(0, end))
          buffer = buffer.slice(end + 2)
          end = buffer.indexOf("\n\n")
        }
      }
    } catch {}
    if (connection === controller) {
      setLive("reconnecting…", "down")
      await new Promise((resolve) => setTimeout(resolve, reconnectMs))
    }
  }
}
