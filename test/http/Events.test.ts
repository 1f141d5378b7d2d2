import * as http from "node:http"
import { Effect } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import * as Job from "../../src/core/Job.js"
import { makeEventId } from "../../src/domain/Ids.js"
import { JobEvent } from "../../src/domain/JobEvent.js"
import type { JobType } from "../../src/domain/Names.js"
import { PollTypesPerInterval } from "../../src/http/Events.js"
import { StatusRepository } from "../../src/ports/StatusRepository.js"
import { memoryStores, type Stores } from "../support/harness.js"
import { eventually, startServer, type Target } from "../support/httpHarness.js"

// Issue 12, point 1: /events streams must not stall the process. Real TCP connections (node:http),
// so the server's sockets, their buffers and their closing are the real ones.

const jobs = [Job.make({ type: "import", run: Effect.void })]

interface Opened {
  readonly req: http.ClientRequest
  readonly res: http.IncomingMessage
}

describe("/events streams", () => {
  let app: Target | undefined
  const clients = new Set<http.ClientRequest>()
  afterEach(async () => {
    for (const req of clients) req.destroy()
    clients.clear()
    await app?.close()
    app = undefined
  })

  /** GET /events on its own connection; resolves once the response's head arrived. */
  const open = (target: Target) =>
    new Promise<Opened>((resolve, reject) => {
      const req = http.get(`${target.baseUrl}/events`, { agent: false }, (res) => {
        res.on("error", () => undefined)
        resolve({ req, res })
      })
      clients.add(req)
      req.on("error", reject)
    })
  const bodyOf = (res: http.IncomingMessage) =>
    new Promise<string>((resolve) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (d: string) => {
        text += d
      })
      res.on("end", () => resolve(text))
    })
  const close = (o: Opened) => {
    o.req.destroy()
    clients.delete(o.req)
  }

  it("refuses streams beyond maxEventStreams with 503, a message and Retry-After; a closed one frees its place", async () => {
    app = await startServer({ stores: Effect.runSync(memoryStores), jobs, http: { maxEventStreams: 20 } })
    const target = app
    const all = await Promise.all(Array.from({ length: 30 }, () => open(target)))
    const streams = all.filter((o) => o.res.statusCode === 200)
    const refused = all.filter((o) => o.res.statusCode !== 200)
    expect(streams).toHaveLength(20)
    expect(refused).toHaveLength(10)
    for (const o of streams) {
      expect(o.res.headers["content-type"]).toContain("text/event-stream")
      o.res.resume()
    }
    for (const o of refused) {
      expect(o.res.statusCode).toBe(503)
      expect(o.res.headers["retry-after"]).toBe("10")
      const body = JSON.parse(await bodyOf(o.res))
      expect(body).toMatchObject({ status: "KO", _tag: "TooManyEventStreams", maxEventStreams: 20 })
      expect(body.message).toContain("20 event streams are open")
      expect(body.message).toContain("HA_JOBS_EVENTS_MAX_STREAMS")
    }
    // The streams hold no one else up.
    const health = await target.fetch("/health")
    expect(health.status).toBe(200)
    await health.arrayBuffer()

    for (const o of streams.slice(0, 5)) close(o)
    // The server sees the closes on its own time: wait until a first newcomer gets in...
    const first = await eventually(async () => {
      const o = await open(target)
      if (o.res.statusCode !== 200) {
        await bodyOf(o.res)
        close(o)
        throw new Error(`still refused: ${o.res.statusCode}`)
      }
      o.res.resume()
      return o
    }, 10_000)
    expect(first.res.statusCode).toBe(200)
    // ...then exactly four more fit.
    const next = await Promise.all(Array.from({ length: 5 }, () => open(target)))
    expect(next.map((o) => o.res.statusCode).sort()).toEqual([200, 200, 200, 200, 503])
    for (const o of next) o.res.resume()
  }, 30_000)

  it("streams job events (new, and grown by coalescing) and changes of overdue / overrunning", async () => {
    const stores = Effect.runSync(memoryStores)
    app = await startServer({
      stores,
      jobs: [...jobs, Job.make({ type: "slow", maxDuration: "100 millis", run: Effect.never })],
      http: { eventsInterval: "50 millis" },
      haJobs: { expectations: { checkEvery: "100 millis" } },
    })
    const target = app
    const eventOf = (id: JobEvent["id"], count: number) =>
      new JobEvent({
        id,
        at: new Date(),
        jobType: "import" as JobType,
        kind: "slot-missed",
        instance: "other",
        reason: "store unreachable",
        count,
        from: new Date(Date.now() - 60_000),
        to: new Date(),
      })
    const record = (e: JobEvent) => Effect.runPromise(stores.statusRepository.recordEvent(e))
    // Recorded before the stream opened: the past, not news.
    const old = Effect.runSync(makeEventId)
    await record(eventOf(old, 1))

    const stream = await open(target)
    expect(stream.res.statusCode).toBe(200)
    const frames: Array<{ event: string; data: any }> = []
    let pending = ""
    stream.res.setEncoding("utf8")
    stream.res.on("data", (d: string) => {
      pending += d
      for (let i = pending.indexOf("\n\n"); i >= 0; i = pending.indexOf("\n\n")) {
        const block = pending.slice(0, i)
        pending = pending.slice(i + 2)
        const event = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (event !== undefined && data !== undefined) frames.push({ event, data: JSON.parse(data) })
      }
    })
    const of = (event: string) => frames.filter((f) => f.event === event).map((f) => f.data)

    const id = Effect.runSync(makeEventId)
    await record(eventOf(id, 1))
    await eventually(
      async () => expect(of("jobEvent").map((e) => [e.id, e.count])).toEqual([[id, 1]]),
      10_000,
    )
    await record(eventOf(id, 2))
    await eventually(
      async () =>
        expect(of("jobEvent").map((e) => [e.id, e.count])).toEqual([
          [id, 1],
          [id, 2],
        ]),
      10_000,
    )
    expect(of("jobEvent")[1]).toMatchObject({
      jobType: "import",
      kind: "slot-missed",
      reason: "store unreachable",
    })
    expect(of("jobEvent").some((e) => e.id === old)).toBe(false)

    const started = await target.fetch("/jobs/slow", { method: "POST" })
    const { jobId } = (await started.json()) as { jobId: string }
    await eventually(
      async () =>
        expect(of("expectation").filter((e) => e.expectations.overrunning.includes(jobId))).toHaveLength(1),
      10_000,
    )
    expect(of("expectation").at(-1)).toMatchObject({
      jobType: "slow",
      expectations: { maxDuration: "100ms" },
    })
    await (await target.fetch("/jobs/slow", { method: "DELETE" })).arrayBuffer()
    await eventually(
      async () => expect(of("expectation").at(-1).expectations.overrunning).toEqual([]),
      10_000,
    )
  }, 30_000)

  it("drops a client that does not read, while one that reads keeps getting frames", async () => {
    // Big frames (a long reason on every poll's latest status) fill the socket buffers of a client
    // that does not read in a second or two: the loopback's buffers hold a few megabytes.
    const inner = Effect.runSync(memoryStores)
    const reason = "x".repeat(256 * 1024)
    const stores: Stores = {
      lockRepository: inner.lockRepository,
      statusRepository: StatusRepository.of({
        ...inner.statusRepository,
        list: (jobType, options) =>
          Effect.map(inner.statusRepository.list(jobType, options), (rows) =>
            options?.limit === 1 ? rows.map((r) => ({ ...r, reason, jobStatusTs: new Date() })) : rows,
          ),
      }),
    }
    app = await startServer({
      stores,
      jobs,
      http: { eventsInterval: "50 millis", eventsBufferFrames: 4, maxEventStreams: 2 },
    })
    const target = app
    const started = await target.fetch("/jobs/import", { method: "POST" })
    expect(started.status).toBe(201)
    await started.arrayBuffer()

    const reader = await open(target)
    expect(reader.res.statusCode).toBe(200)
    let read = 0
    let pending = ""
    reader.res.setEncoding("utf8")
    reader.res.on("data", (d: string) => {
      pending += d
      let i = pending.indexOf("\n\n")
      while (i >= 0) {
        if (pending.startsWith("event: status")) read++
        pending = pending.slice(i + 2)
        i = pending.indexOf("\n\n")
      }
    })

    const slow = await open(target)
    expect(slow.res.statusCode).toBe(200)
    slow.res.pause()
    let slowClosed = false
    slow.res.socket.on("close", () => {
      slowClosed = true
    })

    // Dropped: its place is free again (the cap is 2), though it never closed its connection.
    await eventually(async () => {
      const o = await open(target)
      const status = o.res.statusCode
      close(o)
      expect(status).toBe(200)
    }, 30_000)
    // The reader goes on.
    const before = read
    await eventually(async () => expect(read).toBeGreaterThan(before + 3), 10_000)
    expect(reader.res.complete).toBe(false)

    // Once it reads again, the slow client finds its stream ended, not a backlog that goes on.
    let slowBytes = 0
    slow.res.on("data", (d: Buffer) => {
      slowBytes += d.length
    })
    slow.res.resume()
    await eventually(async () => expect(slowClosed).toBe(true), 20_000)
    expect(slowBytes).toBeGreaterThan(0)
  }, 60_000)

  it("with 450 job types a poll reads 200 of them (latest and events), in turn; a change on the last one still streams", async () => {
    const inner = Effect.runSync(memoryStores)
    let counting = false
    const reads = { list: 0, events: 0 }
    const stores: Stores = {
      lockRepository: inner.lockRepository,
      statusRepository: StatusRepository.of({
        ...inner.statusRepository,
        list: (jobType, options) =>
          Effect.suspend(() => {
            if (counting && options?.limit === 1) reads.list++
            return inner.statusRepository.list(jobType, options)
          }),
        events: (options) =>
          Effect.suspend(() => {
            if (counting) reads.events++
            return inner.statusRepository.events(options)
          }),
      }),
    }
    const many = Array.from({ length: 449 }, (_, i) => Job.make({ type: `t-${i}`, run: Effect.void }))
    app = await startServer({ stores, jobs: many, http: { eventsInterval: "200 millis" } })
    const target = app
    const stream = await open(target)
    let text = ""
    stream.res.setEncoding("utf8")
    stream.res.on("data", (d: string) => {
      text += d
    })
    // Over 5 polls: at most PollTypesPerInterval of each kind per poll (the supervisor is the 450th).
    counting = true
    await new Promise((r) => setTimeout(r, 1_000))
    counting = false
    expect(reads.list).toBeGreaterThan(0)
    expect(reads.list).toBeLessThanOrEqual(6 * PollTypesPerInterval)
    expect(reads.events).toBeLessThanOrEqual(6 * PollTypesPerInterval)
    const started = await target.fetch("/jobs/t-448", { method: "POST" })
    expect(started.status).toBe(201)
    const framesOf = (jobType: string) =>
      text
        .split("\n\n")
        .filter((f) => f.includes(`"jobType":"${jobType}"`))
        .join("\n")
    await eventually(async () => expect(framesOf("t-448")).toContain('"latest":{'), 10_000)
    close(stream)
  }, 30_000)
})
