// Regression test for the cassandra-driver control-connection race (NODEJS-681): a single node that
// restarts again and again, simulated with the driver's own ControlConnection and fake connections
// injected through its constructor's `context`. No socket is opened.
import { EventEmitter } from "node:events"
import { createRequire } from "node:module"
import cassandra from "cassandra-driver"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { StoreError } from "../../../src/domain/Errors.js"
import {
  type Client,
  cqlFailure,
  describeFailure,
  serializeControlConnectionRefresh,
  timedOutHosts,
} from "../../../src/stores/cassandra/Driver.js"

const require = createRequire(import.meta.url)
const ControlConnection = require("cassandra-driver/lib/control-connection")
const clientOptions = require("cassandra-driver/lib/client-options")
const requests = require("cassandra-driver/lib/requests")
const { types } = cassandra

const ENDPOINT = "127.0.0.9:19999" // nothing listens there
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const simulate = async (guarded: boolean, cycles: number, seed: number) => {
  let s = seed
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2147483648
    return s / 2147483648
  }
  let nodeUp = true
  let poolUp = true
  const open = new Set<FakeConnection>()
  class FakeConnection extends EventEmitter {
    readonly endpointFriendlyName: string
    readonly protocolVersion = 4
    readonly encoder = {}
    closed = false
    constructor(readonly endpoint: string) {
      super()
      this.endpointFriendlyName = endpoint
      open.add(this)
    }
    async send(req: { query?: string }) {
      await sleep(1 + Math.floor(rnd() * 15))
      if (this.closed || !nodeUp) throw Object.assign(new Error("Socket was closed"), { isSocketError: true })
      if (req === requests.options) return { supported: {} }
      if (/system\.local/.test(req.query ?? ""))
        return {
          rows: [
            {
              data_center: "dc1",
              rack: "r1",
              tokens: ["0"],
              host_id: types.Uuid.random(),
              release_version: "5.0.0",
              partitioner: "org.apache.cassandra.dht.Murmur3Partitioner",
            },
          ],
        }
      if (/system\.peers/.test(req.query ?? "")) return { rows: [] }
      return {}
    }
    close() {
      if (this.closed) return
      this.closed = true
      open.delete(this)
      this.emit("socketClose")
    }
    closeAsync() {
      this.close()
      return Promise.resolve()
    }
    getLocalAddress() {
      return "127.0.0.1:50000"
    }
  }
  const options = clientOptions.extend({
    contactPoints: [ENDPOINT],
    localDataCenter: "dc1",
    isMetadataSyncEnabled: false,
    policies: {
      reconnection: new cassandra.policies.reconnection.ExponentialReconnectionPolicy(20, 200, false),
    },
    logEmitter: () => {},
  })
  let cc: any
  cc = new ControlConnection(
    options,
    {
      getDefaultLoadBalancing: () => ({
        newQueryPlan: (_k: unknown, _o: unknown, cb: (e: unknown, it: unknown) => void) =>
          cb(null, cc.hosts.values()[Symbol.iterator]()),
      }),
      getDistance: () => types.distance.local,
    },
    {
      createConnection: async (cp: string) => {
        await sleep(1 + Math.floor(rnd() * 5))
        if (!nodeUp) throw Object.assign(new Error(`connect ECONNREFUSED ${cp}`), { code: "ECONNREFUSED" })
        return new FakeConnection(cp)
      },
      borrowHostConnection: (host: { address: string }) => {
        if (!poolUp) throw new Error("No connection available")
        return new FakeConnection(host.address)
      },
    },
  )
  // Count the refreshes that really run (the driver's own method, top level only).
  let running = 0
  let maxRunning = 0
  const own = cc._refresh
  cc._refresh = function (this: unknown, it?: unknown) {
    if (it !== undefined) return own.call(this, it)
    running++
    maxRunning = Math.max(maxRunning, running)
    return own.call(this).then(
      () => {
        running--
      },
      (e: unknown) => {
        running--
        throw e
      },
    )
  }
  if (guarded)
    serializeControlConnectionRefresh({ controlConnection: cc, emit: () => true } as unknown as Client)
  const failures: Array<unknown> = []
  const onRejection = (e: unknown) => failures.push(e)
  process.on("unhandledRejection", onRejection)
  let withoutConnection = 0
  try {
    await cc.init()
    for (let i = 0; i < cycles && failures.length === 0; i++) {
      nodeUp = false
      poolUp = false
      for (const c of [...open]) c.close()
      await sleep(50 + rnd() * 150)
      nodeUp = true
      setTimeout(() => {
        poolUp = true
      }, rnd() * 60)
      await sleep(400)
      if (cc.connection === null || cc.connection.closed || cc.host === null) withoutConnection++
    }
  } finally {
    cc.shutdown()
    for (const c of [...open]) c.close()
    await sleep(50)
    process.off("unhandledRejection", onRejection)
  }
  return { failures, maxRunning, withoutConnection }
}

describe("control connection refresh (cassandra-driver NODEJS-681)", () => {
  it("the unguarded driver crashes: two refreshes run at once", async () => {
    // Real timers decide the race: try seeds until one crashes (each did here), at most ten.
    let r = await simulate(false, 15, 1)
    for (let seed = 2; seed <= 10 && r.failures.length === 0; seed++) r = await simulate(false, 15, seed)
    // If this starts failing the driver fixed the race: remove serializeControlConnectionRefresh.
    expect(r.maxRunning).toBeGreaterThan(1)
    expect(String((r.failures[0] as Error | undefined)?.message)).toMatch(/null/)
  }, 120_000)

  it.each([
    1, 2, 3,
  ])("guarded: one refresh at a time, no crash, reconnected after every restart (seed %i)", async (seed) => {
    const r = await simulate(true, 15, seed)
    expect(r.failures).toEqual([])
    expect(r.maxRunning).toBe(1)
    expect(r.withoutConnection).toBe(0)
  }, 60_000)
})

describe("driver failures as StoreErrors (no server needed)", () => {
  const { errors, types } = cassandra
  const codes = types.responseErrorCodes

  it("names the call, whether it may have applied, and the driver's error per host", async () => {
    const timeout = Object.assign(new errors.ResponseError(codes.writeTimeout, "no Paxos quorum"), {
      writeType: "CAS",
    })
    const failure = cqlFailure(timeout)
    expect(failure.outcomeUnknown).toBe(true)
    expect(describeFailure(failure, "acquire")).toBe(
      "Cassandra acquire failed (outcome unknown): writeTimeout (CAS): no Paxos quorum",
    )
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" })
    const noHost = cqlFailure(new errors.NoHostAvailableError({ "127.0.0.1:1": refused }))
    expect(noHost.outcomeUnknown).toBe(false)
    const error = await Effect.runPromise(
      Effect.flip(Effect.fail(noHost).pipe(StoreError.refail("save status", describeFailure))),
    )
    expect(error).toBeInstanceOf(StoreError)
    expect(error.operation).toBe("save status")
    expect(error.message).toBe("Cassandra save status failed: 127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1")
    expect(error.cause).toBe(noHost)
  })

  it("finds every coordinator that timed out, also inside a NoHostAvailableError (then avoided on the retry)", () => {
    const timedOut = (host: string) =>
      new errors.OperationTimedOutError(`The host ${host} did not reply`, host)
    expect(timedOutHosts(cqlFailure(timedOut("10.0.0.1:9042")))).toEqual(["10.0.0.1:9042"])
    const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })
    const both = new errors.NoHostAvailableError({
      "10.0.0.3:9042": timedOut("10.0.0.3:9042"),
      "10.0.0.1:9042": timedOut("10.0.0.1:9042"),
      "10.0.0.2:9042": refused,
    })
    expect(timedOutHosts(cqlFailure(both))).toEqual(["10.0.0.3:9042", "10.0.0.1:9042"])
    expect(timedOutHosts(cqlFailure(refused))).toEqual([])
  })
})
