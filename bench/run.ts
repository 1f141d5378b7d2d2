/**
 * `npm run bench`: every bench module, one after the other, each written as a section of
 * BENCHMARKS.md with the machine's details (other sections of the file are kept).
 *
 *   npx tsx bench/run.ts [--only inprocess|failover|failover-defaults|defaults-load|cassandra|pgboss|eventsFlood|sqliteLock|scale] [module options, e.g. --rounds 5]
 *
 * failover-defaults is issue 21's "defaults" row: failover and dead detection at the library's
 * defaults, beside @effect/cluster at its own (bench/effectCluster.ts) when PostgreSQL answers.
 *
 * bench/cassandra.ts runs (as its own process) only when CASSANDRA_CONTACT_POINTS is set;
 * bench/pgboss.ts only when a PostgreSQL answers at PGBOSS_URL (default 127.0.0.1:5432/test).
 * The scale bench runs its --quick grid here (2.5 minutes); the full one is `npm run bench:scale`.
 */
import { spawnSync } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { databaseUrl } from "../chaos/postgres.js"
import * as defaultsLoad from "./defaultsLoad.js"
import * as effectCluster from "./effectCluster.js"
import * as eventsFlood from "./eventsFlood.js"
import * as failover from "./failover.js"
import * as inprocess from "./inprocess.js"
import { machine, writeSection } from "./markdown.js"
import * as pgboss from "./pgboss.js"
import * as sqliteLock from "./sqliteLock.js"
import type { Section } from "./stats.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const only = (() => {
  const i = process.argv.indexOf("--only")
  return i === -1 ? undefined : process.argv[i + 1]
})()

const write = (id: string, s: Section) => {
  const text = [
    `## ${s.title}`,
    "",
    `Command: \`${s.command}\` (all: \`npm run bench\`)`,
    "",
    machine(),
    "",
    s.body,
  ].join("\n")
  writeSection(id, text)
  console.log(`\n${text}\n`)
}

const cassandra = (): Section | undefined => {
  if (!process.env.CASSANDRA_CONTACT_POINTS) {
    console.log("bench: CASSANDRA_CONTACT_POINTS is not set; bench/cassandra.ts skipped")
    return undefined
  }
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "bench/cassandra.ts")], {
    cwd: root,
    encoding: "utf8",
    timeout: 15 * 60_000,
    stdio: ["ignore", "pipe", "inherit"],
  })
  if (r.status !== 0) throw new Error(`bench/cassandra.ts failed (exit ${r.status})`)
  const table = r.stdout.slice(r.stdout.indexOf("| operation")).trim()
  return {
    title: `Cassandra lease operations: library vs raw driver (${process.env.CASSANDRA_CONTACT_POINTS})`,
    command: "npx tsx bench/cassandra.ts",
    body: table,
  }
}

/** Ours at the defaults (failover, dead detection) beside @effect/cluster at its defaults. */
const defaults = async (): Promise<Section> => {
  const ours = await failover.run(true)
  const theirs = (await pgboss.reachable(databaseUrl())) ? await effectCluster.run() : undefined
  return {
    title: `${ours.title}, beside @effect/cluster at its defaults`,
    command: `${ours.command}; ${theirs ? theirs.command : "(no PostgreSQL: bench/effectCluster.ts skipped)"}`,
    body: theirs ? `${ours.body}\n\n**${theirs.title}**\n\n${theirs.body}` : ours.body,
  }
}

/** `npm run bench:scale -- --quick` as its own process (it needs --expose-gc and a large heap). */
const scaleQuick = (): Section => {
  const r = spawnSync(
    process.execPath,
    [
      "--expose-gc",
      "--max-old-space-size=8192",
      "--import",
      "tsx",
      path.join(root, "bench/scale.ts"),
      "--quick",
    ],
    { cwd: root, encoding: "utf8", timeout: 15 * 60_000, stdio: ["ignore", "pipe", "inherit"] },
  )
  if (r.status !== 0) throw new Error(`bench/scale.ts --quick failed (exit ${r.status})`)
  return {
    title: "Scale, quick grid: cron job types × instances in one process (memory store)",
    command: "npm run bench:scale -- --quick",
    body: `${r.stdout.slice(r.stdout.indexOf("| store")).trim()}

The full grid, other stores, real processes and plots: [Scale](#scale-many-cron-job-types-on-many-instances).`,
  }
}

if (!only || only === "inprocess") write("bench-inprocess", await inprocess.run())
if (!only || only === "failover") write("bench-failover", await failover.run(false))
if (!only || only === "failover-defaults") write("bench-failover-defaults", await defaults())
if (!only || only === "defaults-load") write("bench-defaults-load", await defaultsLoad.run())
if (!only || only === "eventsFlood") write("bench-events-flood", await eventsFlood.run())
if (!only || only === "sqliteLock") write("bench-sqlite-lock", await sqliteLock.run())
if (!only || only === "cassandra") {
  const s = cassandra()
  if (s) write("bench-cassandra", s)
}
if (!only || only === "scale") write("bench-scale-quick", scaleQuick())
if (!only || only === "pgboss") {
  if (await pgboss.reachable()) write("bench-pgboss", await pgboss.run())
  else console.log(`bench: no PostgreSQL at ${pgboss.url}; bench/pgboss.ts skipped`)
}
process.exit(0)
