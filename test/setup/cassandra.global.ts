/**
 * vitest globalSetup of the Cassandra test files: finds a Cassandra, migrates a fresh keyspace for
 * this run, and hands both to the test files (inject("cassandra")).
 *
 * 1. CASSANDRA_CONTACT_POINTS set: that cluster (CASSANDRA_LOCAL_DC, CASSANDRA_USERNAME and
 *    CASSANDRA_PASSWORD apply). scripts/cassandra/start.sh starts one on 127.0.0.1.
 * 2. Otherwise, where Docker works: testcontainers (image CASSANDRA_TEST_IMAGE, default cassandra:5.0.4).
 * 3. Otherwise "unavailable": the Cassandra test files skip, saying why. With CI=true a missing
 *    Cassandra fails the run instead.
 */
import { readFileSync } from "node:fs"
import { homedir } from "node:os"
import { join } from "node:path"
import cassandra from "cassandra-driver"
import { Cause, Effect, Exit, Logger, LogLevel } from "effect"
import type { TestProject } from "vitest/node"
import { migrate } from "../../src/stores/cassandra/CassandraMigrator.js"

export interface CassandraTarget {
  readonly contactPoints: ReadonlyArray<string>
  readonly localDataCenter: string
  /** A keyspace made and migrated for this run (dropped at the end). */
  readonly keyspace: string
  readonly username?: string
  readonly password?: string
  /** The node refuses clients without credentials (PasswordAuthenticator). */
  readonly authRequired: boolean
  /** How the fault tests can freeze the node (SIGSTOP / docker pause), when they can. */
  readonly freeze?: { readonly pid: number } | { readonly containerId: string }
  readonly source: string
}

export type CassandraContext = { readonly target: CassandraTarget } | { readonly unavailable: string }

declare module "vitest" {
  export interface ProvidedContext {
    cassandra: CassandraContext
  }
}

const log = (message: string) => console.log(`[cassandra tests] ${message}`)

const isCi = process.env.CI === "true"

/**
 * The pid of the node scripts/cassandra/start.sh runs (its pid file under HA_JOBS_CASSANDRA_HOME),
 * when the contact points are that node: local address and the CQL port of its cassandra.yaml.
 * CASSANDRA_PID overrides the search.
 */
const localPid = (contactPoints: ReadonlyArray<string>): number | undefined => {
  if (process.env.CASSANDRA_PID) return Number(process.env.CASSANDRA_PID)
  const home = process.env.HA_JOBS_CASSANDRA_HOME ?? join(homedir(), ".cache/effect-ha-jobs/cassandra")
  try {
    const pid = Number(readFileSync(join(home, "run/cassandra.pid"), "utf8").trim())
    if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("CassandraDaemon")) return undefined
    const yaml = readFileSync(join(home, "run/conf/cassandra.yaml"), "utf8")
    const port = /^native_transport_port:\s*(\d+)/m.exec(yaml)?.[1] ?? "9042"
    const local = contactPoints.every((c) => {
      const [host, p = "9042"] = c.split(":")
      return (host === "127.0.0.1" || host === "localhost") && p === port
    })
    return local ? pid : undefined
  } catch {
    return undefined
  }
}

/** Whether the node refuses a client without credentials. */
const requiresAuth = async (contactPoints: ReadonlyArray<string>, localDataCenter: string) => {
  const client = new cassandra.Client({ contactPoints: [...contactPoints], localDataCenter })
  try {
    await client.connect()
    return false
  } catch (e) {
    return /AuthenticationError|requires authentication/.test(
      `${e instanceof Error ? e.message : ""} ${Object.values((e as { innerErrors?: object }).innerErrors ?? {}).map(String)}`,
    )
  } finally {
    await client.shutdown().catch(() => undefined)
  }
}

export default async function setup(project: TestProject) {
  const started = Date.now()
  let target: Omit<CassandraTarget, "keyspace" | "authRequired"> | undefined
  let reason = ""
  let stopContainer: (() => Promise<unknown>) | undefined

  const external = process.env.CASSANDRA_CONTACT_POINTS
  if (external) {
    const contactPoints = external
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)
    const pid = localPid(contactPoints)
    target = {
      contactPoints,
      localDataCenter: process.env.CASSANDRA_LOCAL_DC ?? "datacenter1",
      ...(process.env.CASSANDRA_USERNAME ? { username: process.env.CASSANDRA_USERNAME } : {}),
      ...(process.env.CASSANDRA_PASSWORD ? { password: process.env.CASSANDRA_PASSWORD } : {}),
      ...(pid === undefined ? {} : { freeze: { pid } }),
      source: `CASSANDRA_CONTACT_POINTS=${external}`,
    }
  } else {
    const image = process.env.CASSANDRA_TEST_IMAGE ?? "cassandra:5.0.4"
    try {
      const { CassandraContainer } = await import("@testcontainers/cassandra")
      log(`CASSANDRA_CONTACT_POINTS is not set; starting ${image} with testcontainers...`)
      const container = await new CassandraContainer(image).start()
      stopContainer = () => container.stop()
      target = {
        contactPoints: [container.getContactPoint()],
        localDataCenter: container.getDatacenter(),
        freeze: { containerId: container.getId() },
        source: `testcontainers ${image}`,
      }
    } catch (e) {
      reason = `CASSANDRA_CONTACT_POINTS is not set and testcontainers cannot start ${image} (${e instanceof Error ? e.message : String(e)}). Run scripts/cassandra/start.sh and set CASSANDRA_CONTACT_POINTS=127.0.0.1`
    }
  }

  if (target === undefined) {
    if (isCi) throw new Error(`Cassandra is required when CI=true: ${reason}`)
    log(`SKIPPING the Cassandra tests: ${reason}`)
    project.provide("cassandra", { unavailable: reason })
    return
  }

  const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14)
  const keyspace = `ha_jobs_test_${stamp}_${Math.random().toString(36).slice(2, 8)}`
  const options = {
    contactPoints: target.contactPoints,
    localDataCenter: target.localDataCenter,
    keyspace,
    username: target.username,
    password: target.password,
  }
  const exit = await Effect.runPromiseExit(
    migrate({ ...options, createKeyspace: {} }).pipe(Logger.withMinimumLogLevel(LogLevel.Warning)),
  )
  if (Exit.isFailure(exit)) {
    await stopContainer?.()
    const failure = Cause.failureOption(exit.cause)
    // Cassandra was asked for (or started): not being able to use it is an error, not a skip.
    throw new Error(
      `Cassandra tests: cannot prepare keyspace ${keyspace} on ${target.source}: ${failure._tag === "Some" ? failure.value.message : Cause.pretty(exit.cause)}`,
    )
  }
  const authRequired = await requiresAuth(target.contactPoints, target.localDataCenter)
  log(
    `using ${target.source}, keyspace ${keyspace} (migrated in ${Date.now() - started} ms)${authRequired ? ", logins required" : ""}`,
  )
  project.provide("cassandra", { target: { ...target, keyspace, authRequired } })

  return async () => {
    const client = new cassandra.Client({
      contactPoints: [...target.contactPoints],
      localDataCenter: target.localDataCenter,
      ...(target.username
        ? { authProvider: new cassandra.auth.PlainTextAuthProvider(target.username, target.password ?? "") }
        : {}),
    })
    try {
      await client.execute(`DROP KEYSPACE IF EXISTS "${keyspace}"`)
    } catch (e) {
      log(`could not drop keyspace ${keyspace}: ${e instanceof Error ? e.message : String(e)}`)
    } finally {
      await client.shutdown().catch(() => undefined)
      await stopContainer?.()
    }
  }
}
