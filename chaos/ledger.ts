/**
 * The protected resource of the chaos suite: a tiny HTTP service on 127.0.0.1 that, like a real
 * fenced store, refuses a write carrying a fencing token lower than one it has seen for that lock
 * type (or the same token from another execution). Every write, accepted or not, is appended to a
 * JSON-lines file that chaos/check.ts reads.
 *
 *   CHAOS_LEDGER_FILE=/tmp/ledger.jsonl npx tsx chaos/ledger.ts   # prints "ledger listening on PORT"
 *
 * POST /write {lockType, jobType, jobId, token, kind, instance, pid, scheduledAt, sentAt}
 *   -> 200 accepted | 409 stale; GET /state -> the newest accepted write per lock type.
 * POST /acquired {lockType, jobId, token, instance, pid, sentAt, acquiredAt}: an acquisition (logged
 *   with kind "acquire", decides nothing), for the checker's self-fencing margin and token order.
 * POST /renewed {lockType, jobId, token, instance, pid, sentAt, acquiredAt, result}: a renewal of the
 *   continuous job's lease (logged with kind "renew", decides nothing; acquiredAt: when the store
 *   call returned), for the checker's renewal gaps during floods of the HTTP API.
 * POST /hold?pid=P: the next write from P is kept undecided until POST /release?pid=P (then decided
 *   as if it arrived then); GET /held?pid=P -> {lockType, token} of the kept write, or null. chaos/run.ts uses it to model a
 *   write delayed in the network while its sender is paused, so every pause of a writer produces a
 *   stale write attempt (a pause alone rarely does: the keeper usually stops the job first).
 *
 * CHAOS_LEDGER_ACCEPT_ANY=1 (run.ts --sabotage no-fencing-check) accepts every token: a resource
 * without a fencing check, which the checker must catch as staleAccepted.
 */
import * as fs from "node:fs"
import * as http from "node:http"

export interface WriteRequest {
  readonly lockType: string
  readonly jobType: string
  readonly jobId: string
  readonly token: number
  readonly kind: "start" | "beat" | "end" | "acquire" | "renew"
  readonly instance: string
  readonly pid: number
  readonly scheduledAt: number | null
  readonly sentAt: number
  /** The worker's Effect Clock at sentAt (skewed by the clock-skew fault). */
  readonly clockAt?: number | undefined
  /** kind "acquire" or "renew": when the store call returned (sentAt: when it began). */
  readonly acquiredAt?: number | undefined
  /** kind "renew": what the renewal found ("renewed", "lost", "cancel-requested") or "error". */
  readonly result?: string | undefined
}

export interface LedgerEntry extends WriteRequest {
  /** Order in which the ledger decided (one process, one thread: a total order). */
  readonly seq: number
  /** The ledger's clock when it decided (epoch ms). */
  readonly at: number
  readonly accepted: boolean
}

const main = () => {
  const file = process.env.CHAOS_LEDGER_FILE
  if (!file) throw new Error("ledger: CHAOS_LEDGER_FILE is not set")
  const port = Number(process.env.CHAOS_LEDGER_PORT ?? "0")
  const fd = fs.openSync(file, "a")
  const acceptAny = process.env.CHAOS_LEDGER_ACCEPT_ANY === "1"
  const newest = new Map<string, LedgerEntry>()
  let seq = 0
  const armed = new Set<number>()
  const held = new Map<number, { readonly write: WriteRequest; readonly answer: () => void }>()

  const decide = (w: WriteRequest): LedgerEntry => {
    const last = newest.get(w.lockType)
    const accepted =
      acceptAny ||
      last === undefined ||
      w.token > last.token ||
      (w.token === last.token && w.jobId === last.jobId)
    const entry: LedgerEntry = { ...w, seq: ++seq, at: Date.now(), accepted }
    if (accepted) newest.set(w.lockType, entry)
    fs.writeSync(fd, `${JSON.stringify(entry)}\n`)
    return entry
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://ledger")
    const pid = Number(url.searchParams.get("pid"))
    if (req.method === "POST" && url.pathname === "/hold") {
      armed.add(pid)
      res.writeHead(200).end("armed")
      return
    }
    if (req.method === "GET" && url.pathname === "/held") {
      const h = held.get(pid)
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify(h ? { lockType: h.write.lockType, token: h.write.token } : null))
      return
    }
    if (req.method === "POST" && url.pathname === "/release") {
      armed.delete(pid)
      const h = held.get(pid)
      held.delete(pid)
      h?.answer()
      res.writeHead(200).end(h ? "released" : "none")
      return
    }
    if (req.method === "GET" && req.url === "/state") {
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify(Object.fromEntries(newest)))
      return
    }
    if (
      req.method !== "POST" ||
      (url.pathname !== "/write" && url.pathname !== "/acquired" && url.pathname !== "/renewed")
    ) {
      res.writeHead(404).end()
      return
    }
    let body = ""
    req.setEncoding("utf8")
    req.on("data", (chunk: string) => {
      body += chunk
      if (body.length > 10_000) req.destroy()
    })
    req.on("end", () => {
      let w: WriteRequest
      try {
        w = JSON.parse(body) as WriteRequest
        if (typeof w.lockType !== "string" || typeof w.jobId !== "string" || !Number.isInteger(w.token))
          throw new Error("bad write")
      } catch {
        res.writeHead(400).end("bad write")
        return
      }
      if (url.pathname === "/acquired" || url.pathname === "/renewed") {
        const kind = url.pathname === "/renewed" ? "renew" : "acquire"
        const entry = { ...w, kind, scheduledAt: null, seq: ++seq, at: Date.now(), accepted: true }
        fs.writeSync(fd, `${JSON.stringify(entry)}\n`)
        res.writeHead(200).end("ok")
        return
      }
      const answer = () => {
        const entry = decide(w)
        if (entry.accepted) res.writeHead(200).end("ok")
        else {
          const last = newest.get(w.lockType)!
          res.writeHead(409).end(`token ${w.token} < ${last.token} (${last.jobId} on ${last.instance})`)
        }
      }
      if (armed.has(w.pid) && !held.has(w.pid)) {
        armed.delete(w.pid)
        held.set(w.pid, { write: w, answer })
      } else answer()
    })
  })
  server.keepAliveTimeout = 1_000
  server.listen(port, "127.0.0.1", () => {
    const address = server.address()
    console.log(`ledger listening on ${typeof address === "object" && address ? address.port : port}`)
  })
  const stop = () => {
    server.close(() => {
      fs.closeSync(fd)
      process.exit(0)
    })
    server.closeAllConnections()
  }
  process.on("SIGTERM", stop)
  process.on("SIGINT", stop)
}

if (import.meta.url === `file://${process.argv[1]}`) main()
