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
 */
import * as fs from "node:fs"
import * as http from "node:http"

export interface WriteRequest {
  readonly lockType: string
  readonly jobType: string
  readonly jobId: string
  readonly token: number
  readonly kind: "start" | "beat" | "end"
  readonly instance: string
  readonly pid: number
  readonly scheduledAt: number | null
  readonly sentAt: number
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
  const newest = new Map<string, LedgerEntry>()
  let seq = 0

  const decide = (w: WriteRequest): LedgerEntry => {
    const last = newest.get(w.lockType)
    const accepted =
      last === undefined || w.token > last.token || (w.token === last.token && w.jobId === last.jobId)
    const entry: LedgerEntry = { ...w, seq: ++seq, at: Date.now(), accepted }
    if (accepted) newest.set(w.lockType, entry)
    fs.writeSync(fd, `${JSON.stringify(entry)}\n`)
    return entry
  }

  const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/state") {
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify(Object.fromEntries(newest)))
      return
    }
    if (req.method !== "POST" || req.url !== "/write") {
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
      const entry = decide(w)
      if (entry.accepted) res.writeHead(200).end("ok")
      else {
        const last = newest.get(w.lockType)!
        res.writeHead(409).end(`token ${w.token} < ${last.token} (${last.jobId} on ${last.instance})`)
      }
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
