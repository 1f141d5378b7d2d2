#!/usr/bin/env node
// Waits until a Cassandra node answers CQL: runs `SELECT release_version FROM system.local`
// through cassandra-driver, retrying until a deadline.
//
//   node scripts/cassandra/wait-cql.mjs [--host 127.0.0.1] [--port 9042] [--timeout 180]
//                                       [--pid PID] [--dc datacenter1] [--quiet]
//   node scripts/cassandra/wait-cql.mjs --check    # only check that cassandra-driver loads
//
// Logs in with CASSANDRA_USERNAME / CASSANDRA_PASSWORD when they are set (a node started with
// HA_JOBS_CASSANDRA_AUTH=password).
//
// Exit codes: 0 = answered (prints the release version on stdout),
//             1 = deadline passed, 2 = the process given with --pid died,
//             3 = cassandra-driver cannot be loaded (run `npm install` in the repo first),
//             4 = bad arguments.
//
// cassandra-driver is a CommonJS package; it is loaded through createRequire so that it resolves
// from the repository's node_modules (walking up from this file) and, failing that, from NODE_PATH.
import { createRequire } from "node:module"

const require = createRequire(import.meta.url)

const args = process.argv.slice(2)
const opts = {
  host: "127.0.0.1",
  port: 9042,
  timeout: 180,
  pid: undefined,
  // The node's data center (the driver refuses to route without it): start.sh's single node is in
  // the default datacenter1.
  dc: "datacenter1",
  quiet: false,
  check: false,
}
for (let i = 0; i < args.length; i++) {
  const a = args[i]
  const next = () => {
    const v = args[++i]
    if (v === undefined) {
      console.error(`wait-cql: ${a} needs a value`)
      process.exit(4)
    }
    return v
  }
  if (a === "--host") opts.host = next()
  else if (a === "--port") opts.port = Number(next())
  else if (a === "--timeout") opts.timeout = Number(next())
  else if (a === "--pid") opts.pid = Number(next())
  else if (a === "--dc") opts.dc = next()
  else if (a === "--quiet") opts.quiet = true
  else if (a === "--check") opts.check = true
  else {
    console.error(`wait-cql: unknown argument ${a}`)
    process.exit(4)
  }
}
if (!Number.isFinite(opts.port) || !Number.isFinite(opts.timeout)) {
  console.error("wait-cql: --port and --timeout must be numbers")
  process.exit(4)
}

let cassandra
try {
  cassandra = require("cassandra-driver")
} catch (e) {
  console.error(
    "wait-cql: cannot load cassandra-driver (" +
      (e?.code ? e.code : String(e)) +
      "). Run `npm install` at the repository root first, or set NODE_PATH to a node_modules that has it.",
  )
  process.exit(3)
}
if (opts.check) process.exit(0)

const log = (msg) => {
  if (!opts.quiet) console.error(msg)
}

const alive = (pid) => {
  if (pid === undefined) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return e.code === "EPERM"
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

const started = Date.now()
const deadline = started + opts.timeout * 1000
let attempt = 0
let lastError = ""

while (Date.now() < deadline) {
  if (!alive(opts.pid)) {
    console.error(`wait-cql: process ${opts.pid} is gone`)
    process.exit(2)
  }
  attempt++
  const client = new cassandra.Client({
    contactPoints: [`${opts.host}:${opts.port}`],
    localDataCenter: opts.dc,
    ...(process.env.CASSANDRA_USERNAME
      ? {
          authProvider: new cassandra.auth.PlainTextAuthProvider(
            process.env.CASSANDRA_USERNAME,
            process.env.CASSANDRA_PASSWORD ?? "",
          ),
        }
      : {}),
    socketOptions: { connectTimeout: 2000, readTimeout: 5000 },
    // One attempt per loop iteration; this loop does the retrying.
    policies: { reconnection: new cassandra.policies.reconnection.ConstantReconnectionPolicy(60000) },
  })
  try {
    const rs = await client.execute("SELECT release_version FROM system.local")
    const version = rs.first()?.get("release_version")
    await client.shutdown().catch(() => {})
    log(`wait-cql: CQL answered after ${((Date.now() - started) / 1000).toFixed(1)}s (attempt ${attempt})`)
    console.log(version)
    process.exit(0)
  } catch (e) {
    await client.shutdown().catch(() => {})
    const msg = e?.innerErrors ? Object.values(e.innerErrors).map(String).join("; ") : String(e)
    if (msg !== lastError || attempt % 10 === 0) {
      log(`wait-cql: not yet (${Math.round((Date.now() - started) / 1000)}s): ${msg.slice(0, 200)}`)
      lastError = msg
    }
  }
  await sleep(1000)
}
console.error(`wait-cql: no CQL answer from ${opts.host}:${opts.port} within ${opts.timeout}s: ${lastError}`)
process.exit(1)
