/**
 * Applies migrations/cassandra/*.cql to a keyspace (idempotent; see CassandraMigrator).
 *
 *   npx tsx scripts/migrate-cassandra.ts [--keyspace NAME] [--create-keyspace]
 *                                        [--replication "{'class': 'NetworkTopologyStrategy', 'dc1': 3}"]
 *
 * Connection settings come from the same environment as CassandraLayer.layerConfig:
 * CASSANDRA_CONTACT_POINTS (required), CASSANDRA_LOCAL_DC, CASSANDRA_KEYSPACE, CASSANDRA_USERNAME,
 * CASSANDRA_PASSWORD, CASSANDRA_CONSISTENCY, CASSANDRA_SERIAL_CONSISTENCY, CASSANDRA_REQUEST_TIMEOUT,
 * CASSANDRA_CONNECT_TIMEOUT. Without --create-keyspace the keyspace must exist. --replication implies
 * --create-keyspace; without it the keyspace is created with SimpleStrategy and replication factor 1,
 * which is only fit for a local single node.
 * Exit codes: 0 done, 1 failed (the message says why), 2 bad arguments.
 */
import { Cause, Effect, Exit } from "effect"
import * as CassandraLayer from "../src/stores/cassandra/CassandraLayer.js"
import { type MigrateOptions, migrate } from "../src/stores/cassandra/CassandraMigrator.js"

const usage = `usage: npx tsx scripts/migrate-cassandra.ts [--keyspace NAME] [--create-keyspace] [--replication MAP]
  environment: CASSANDRA_CONTACT_POINTS (required), CASSANDRA_LOCAL_DC, CASSANDRA_KEYSPACE,
               CASSANDRA_USERNAME, CASSANDRA_PASSWORD, ... (see README)`

const parseArgs = (argv: ReadonlyArray<string>) => {
  const out: { keyspace?: string; create: boolean; replication?: string } = { create: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const [flag, inline] = arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg]
    const value = () => {
      const v = inline ?? argv[++i]
      if (v === undefined) throw new Error(`${flag} needs a value`)
      return v
    }
    if (flag === "--keyspace") out.keyspace = value()
    else if (flag === "--create-keyspace") out.create = true
    else if (flag === "--replication") {
      out.replication = value()
      out.create = true
    } else if (flag === "--help" || flag === "-h") {
      console.log(usage)
      process.exit(0)
    } else throw new Error(`unknown argument ${arg}`)
  }
  return out
}

let args: ReturnType<typeof parseArgs>
try {
  args = parseArgs(process.argv.slice(2))
} catch (e) {
  console.error(`migrate-cassandra: ${(e as Error).message}\n${usage}`)
  process.exit(2)
}

const program = Effect.gen(function* () {
  const options = yield* CassandraLayer.config
  const migrateOptions: MigrateOptions = {
    ...options,
    ...(args.keyspace === undefined ? {} : { keyspace: args.keyspace }),
    ...(args.create ? { createKeyspace: { replication: args.replication } } : {}),
  }
  return yield* migrate(migrateOptions)
})

const exit = await Effect.runPromiseExit(program)
if (Exit.isSuccess(exit)) {
  const { keyspace, createdKeyspace, applied, version } = exit.value
  if (createdKeyspace) console.log(`created keyspace ${keyspace}`)
  for (const m of applied) console.log(`applied ${m.name}`)
  console.log(
    applied.length === 0
      ? `keyspace ${keyspace} is up to date (schema version ${version})`
      : `keyspace ${keyspace} is at schema version ${version}`,
  )
  process.exit(0)
} else {
  const failure = Cause.failureOption(exit.cause)
  console.error(
    `migrate-cassandra: ${failure._tag === "Some" ? failure.value.message : Cause.pretty(exit.cause)}`,
  )
  process.exit(1)
}
