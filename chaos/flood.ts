/**
 * The "flood" fault of chaos/run.ts: abuse of one worker's HTTP API (HaJobsHttp, served by
 * chaos/worker.ts on 127.0.0.1). For `ms` milliseconds, up to `attempts` connections, paced evenly
 * over the window, at most `maxInFlight` of them awaiting their answer at once: three in four are
 * GET /events (the library admits `maxEventStreams`, 100 by default, and refuses the rest with 503
 * and Retry-After), held open and read until the end; the fourth is an ordinary GET, in turn
 * /health (which probes the store), /jobs/chaos-continuous, /jobs/chaos-cron and /jobs. No attempt
 * starts in the window's last second; when the window ends every socket is closed, also on errors,
 * and a request still without an answer (so after a second at least) counts as unanswered.
 *
 * 127.0.0.1 only; bounded by `attempts` and `ms` (+ the time to close the sockets).
 */
import * as http from "node:http"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { sleep } from "../bench/stats.js"

export interface FloodFigures {
  readonly port: number
  /** The window, as planned (ms). */
  readonly ms: number
  /** Connections opened. */
  attempts: number
  /** GET /events answered 200: a stream admitted (held open until the end). */
  admitted: number
  /** GET /events answered 503: refused for the cap. */
  refused: number
  /** Ordinary GETs sent, and those answered with a 2xx. */
  requests: number
  requestsOk: number
  /** Any other answer, by "path status" (none expected). */
  otherStatus: Record<string, number>
  /** Connections that failed (refused, reset) before an answer. */
  errors: number
  /** Still without an answer when the window ended (then closed). */
  unanswered: number
  /** GET /health: sent, answered 200, and the slowest answer (ms, as seen by the flooding process). */
  health: number
  healthOk: number
  healthSlowestMs: number
  /** The longest event-loop delay of the flooding process itself (its share in the times above), ms. */
  clientLoopMaxMs: number
}

export const DefaultFloodAttempts = 2_000
export const DefaultFloodInFlight = 300

const Ordinary = ["/health", "/jobs/chaos-continuous", "/jobs/chaos-cron", "/jobs"] as const

export const flood = async (options: {
  readonly port: number
  readonly attempts: number
  readonly ms: number
  readonly maxInFlight?: number | undefined
}): Promise<FloodFigures> => {
  const { port, ms } = options
  const total = Math.max(0, Math.floor(options.attempts))
  const maxInFlight = options.maxInFlight ?? DefaultFloodInFlight
  const figures: FloodFigures = {
    port,
    ms,
    attempts: 0,
    admitted: 0,
    refused: 0,
    requests: 0,
    requestsOk: 0,
    otherStatus: {},
    errors: 0,
    unanswered: 0,
    health: 0,
    healthOk: 0,
    healthSlowestMs: 0,
    clientLoopMaxMs: 0,
  }
  // Every request not yet closed: an admitted stream, or one still awaiting its answer.
  const sockets = new Set<http.ClientRequest>()
  let inFlight = 0
  let closing = false
  let finished = false

  const send = (path: string) => {
    figures.attempts++
    const events = path === "/events"
    if (!events) figures.requests++
    if (path === "/health") figures.health++
    const t0 = performance.now()
    let settled = false
    const settle = (what: () => void) => {
      if (settled || finished) return
      settled = true
      inFlight--
      what()
    }
    inFlight++
    const req = http.get(
      { host: "127.0.0.1", port, path, agent: false, headers: events ? { accept: "text/event-stream" } : {} },
      (res) => {
        const status = res.statusCode ?? 0
        res.on("error", () => undefined)
        res.on("close", () => sockets.delete(req))
        // A stream stays open, being read; anything else is drained and closes by itself.
        res.resume()
        settle(() => {
          if (events && status === 200) figures.admitted++
          else if (events && status === 503) figures.refused++
          else if (!events && status >= 200 && status < 300) figures.requestsOk++
          else {
            const key = `${path} ${status}`
            figures.otherStatus[key] = (figures.otherStatus[key] ?? 0) + 1
          }
          if (path === "/health" && status === 200) {
            figures.healthOk++
            figures.healthSlowestMs = Math.max(figures.healthSlowestMs, Math.round(performance.now() - t0))
          }
        })
      },
    )
    sockets.add(req)
    req.on("error", () => {
      sockets.delete(req)
      settle(() => {
        if (closing) figures.unanswered++
        else figures.errors++
      })
    })
    req.on("close", () => {
      sockets.delete(req)
      settle(() => figures.unanswered++)
    })
  }

  const started = Date.now()
  const end = started + ms
  // Attempts in all but the last second (at least half the window).
  const sending = Math.max(ms / 2, ms - 1_000)
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  try {
    let ordinary = 0
    // Paced: by time t, about total * t / sending attempts; at most maxInFlight without an answer.
    while (figures.attempts < total && Date.now() < started + sending) {
      const due = Math.min(total, Math.ceil(((Date.now() - started + 10) * total) / sending))
      while (figures.attempts < due && inFlight < maxInFlight)
        send(figures.attempts % 4 === 3 ? Ordinary[ordinary++ % Ordinary.length]! : "/events")
      await sleep(10)
    }
    const left = end - Date.now()
    if (left > 0) await sleep(left)
  } finally {
    loop.disable()
    figures.clientLoopMaxMs = Math.round(loop.max / 1e6)
    closing = true
    for (const req of sockets) req.destroy()
    sockets.clear()
  }
  // The closed requests settle on their "close" events; any that has not within 2 s is unanswered.
  const deadline = Date.now() + 2_000
  while (inFlight > 0 && Date.now() < deadline) await sleep(10)
  finished = true
  figures.unanswered += inFlight
  return figures
}
