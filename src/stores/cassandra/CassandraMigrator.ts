import { createHash } from "node:crypto"
import { readdir, readFile } from "node:fs/promises"
import { hostname } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Duration, Effect, Schedule } from "effect"
import { StoreError } from "../../domain/Errors.js"
import { type CassandraOptions, resolveEffect } from "./CassandraConfig.js"
import { type Client, connect, consistencyCode, describeDriverError } from "./Driver.js"

/** The migrations shipped with the library: migrations/cassandra/NNNN_name.cql. */
export const defaultDirectory = fileURLToPath(new URL("../../../migrations/cassandra/", import.meta.url))

export interface Migration {
  readonly version: number
  readonly name: string
  /** The CQL statements of the file, comments removed. */
  readonly statements: ReadonlyArray<string>
  /** sha256 of the statements (whitespace-normalised): comments and layout may change, CQL may not. */
  readonly checksum: string
}

export interface MigrateOptions extends CassandraOptions {
  /**
   * Create the keyspace when it does not exist. Without it the keyspace must exist. `replication` is
   * the CQL replication map, e.g. "{'class': 'NetworkTopologyStrategy', 'dc1': 3}"; it defaults to
   * SimpleStrategy with replication factor 1, which is only fit for a local single node and tests.
   */
  readonly createKeyspace?: { readonly replication?: string | undefined } | undefined
  /** Where the .cql files are. Defaults to the library's migrations/cassandra. */
  readonly directory?: string | undefined
  /** How long to wait for another migrator's lock. Default 2 minutes. */
  readonly lockWait?: Duration.DurationInput | undefined
}

export interface MigrationReport {
  readonly keyspace: string
  readonly createdKeyspace: boolean
  /** Migrations applied by this run, in order. */
  readonly applied: ReadonlyArray<{ readonly version: number; readonly name: string }>
  /** The highest version now applied. */
  readonly version: number
}

export const DevReplication = "{'class': 'SimpleStrategy', 'replication_factor': 1}"

const Scope = "effect-ha-jobs"
const LockVersion = 0
const LockTtlSeconds = 300

/**
 * Splits a CQL file into statements: drops `--` and `//` line comments and block comments, splits
 * at semicolons outside string literals, quoted identifiers and $$-strings.
 */
export const splitStatements = (text: string): Array<string> => {
  const statements: Array<string> = []
  let current = ""
  let i = 0
  while (i < text.length) {
    const c = text[i]!
    const next = text[i + 1]
    if ((c === "-" && next === "-") || (c === "/" && next === "/")) {
      const end = text.indexOf("\n", i)
      i = end === -1 ? text.length : end
      continue
    }
    if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2)
      i = end === -1 ? text.length : end + 2
      current += " "
      continue
    }
    if (c === "'" || c === '"' || (c === "$" && next === "$")) {
      const close = c === "$" ? "$$" : c
      let j = i + close.length
      while (j < text.length) {
        if (text.startsWith(close, j)) {
          // '' and "" escape the quote inside the literal.
          if (close.length === 1 && text[j + 1] === close) {
            j += 2
            continue
          }
          break
        }
        j++
      }
      current += text.slice(i, j + close.length)
      i = j + close.length
      continue
    }
    if (c === ";") {
      if (current.trim()) statements.push(current.trim())
      current = ""
      i++
      continue
    }
    current += c
    i++
  }
  if (current.trim()) statements.push(current.trim())
  return statements
}

const checksumOf = (statements: ReadonlyArray<string>) =>
  createHash("sha256")
    .update(statements.map((s) => s.replace(/\s+/g, " ")).join(";\n"))
    .digest("hex")

const filePattern = /^(\d+)_([A-Za-z0-9_-]+)\.cql$/

/** Reads NNNN_name.cql files, ordered by version; versions must be unique and positive. */
export const loadMigrations = (
  directory: string = defaultDirectory,
): Effect.Effect<Array<Migration>, StoreError> =>
  Effect.gen(function* () {
    const files = yield* Effect.tryPromise({
      try: () => readdir(directory),
      catch: (cause) => StoreError.of("migrate", `cannot read the migrations directory ${directory}`, cause),
    })
    const migrations: Array<Migration> = []
    for (const file of files.filter((f) => f.endsWith(".cql")).sort()) {
      const match = filePattern.exec(file)
      if (!match)
        return yield* StoreError.of(
          "migrate",
          `migration file ${file} is not named NNNN_name.cql (in ${directory})`,
        )
      const version = Number(match[1])
      if (version <= LockVersion)
        return yield* StoreError.of("migrate", `migration ${file}: versions start at 1`)
      if (migrations.some((m) => m.version === version))
        return yield* StoreError.of("migrate", `two migrations have version ${version} (in ${directory})`)
      const text = yield* Effect.tryPromise({
        try: () => readFile(join(directory, file), "utf8"),
        catch: (cause) => StoreError.of("migrate", `cannot read ${join(directory, file)}`, cause),
      })
      const statements = splitStatements(text)
      migrations.push({ version, name: file, statements, checksum: checksumOf(statements) })
    }
    return migrations.sort((a, b) => a.version - b.version)
  })

/** A schema statement (not prepared: it has no parameters and runs once). */
const ddl = (client: Client, operation: string, query: string) =>
  Effect.tryPromise({
    try: () => client.execute(query),
    catch: (cause) => StoreError.of("migrate", `${operation} failed: ${describeDriverError(cause)}`, cause),
  })

const validReplication = /^\{[^;]*\}$/s

/**
 * Applies the migrations that the keyspace does not have yet, in version order, each recorded in the
 * `schema_version` table once all its statements succeeded. Idempotent: a second run applies nothing.
 * Statements are written to be re-runnable (IF NOT EXISTS), so a run interrupted mid-file is simply run
 * again. Concurrent migrators are serialised by a lock row (a lightweight transaction with a TTL).
 */
export const migrate = (options: MigrateOptions): Effect.Effect<MigrationReport, StoreError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const config = yield* resolveEffect(options)
      const { keyspace } = config
      const migrations = yield* loadMigrations(options.directory)
      const client = yield* connect(config)

      // Every write to the schema_version partition is a lightweight transaction; reads are serial.
      const queryOptions = {
        prepare: true,
        consistency: consistencyCode(config.consistency),
        serialConsistency: consistencyCode(config.serialConsistency),
      }
      const dml = (operation: string, query: string, params: ReadonlyArray<unknown>, serialRead = false) =>
        Effect.tryPromise({
          try: () =>
            client.execute(query, [...params], {
              ...queryOptions,
              ...(serialRead ? { consistency: queryOptions.serialConsistency } : {}),
            }),
          catch: (cause) =>
            StoreError.of("migrate", `${operation} failed: ${describeDriverError(cause)}`, cause),
        })

      let createdKeyspace = false
      const exists = yield* dml(
        "reading system_schema.keyspaces",
        "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?",
        [keyspace],
      ).pipe(Effect.map((rs) => rs.rowLength > 0))
      if (!exists) {
        if (options.createKeyspace === undefined)
          return yield* StoreError.of(
            "migrate",
            `keyspace "${keyspace}" does not exist: create it (CREATE KEYSPACE "${keyspace}" WITH replication = {'class': 'NetworkTopologyStrategy', '<dc>': 3}), or let the migrator create it: --create-keyspace [--replication "<map>"] (createKeyspace option)`,
          )
        const replication = (options.createKeyspace.replication ?? DevReplication).trim()
        if (!validReplication.test(replication))
          return yield* StoreError.of(
            "migrate",
            `replication ${JSON.stringify(replication)} is not a CQL map such as ${DevReplication}`,
          )
        yield* ddl(
          client,
          `creating keyspace "${keyspace}"`,
          `CREATE KEYSPACE IF NOT EXISTS "${keyspace}" WITH replication = ${replication}`,
        )
        createdKeyspace = true
      }

      // A keyspace just created (here or by a concurrent migrator) can take a moment to be usable on
      // every connection of the pool: retry briefly.
      yield* ddl(client, "USE keyspace", `USE "${keyspace}"`).pipe(
        Effect.retry({
          schedule: Schedule.exponential("100 millis").pipe(Schedule.upTo("10 seconds")),
          while: (e) => /does not exist/.test(e.message),
        }),
      )
      yield* ddl(
        client,
        "creating schema_version",
        "CREATE TABLE IF NOT EXISTS schema_version (scope text, version int, name text, checksum text, applied_by text, applied_at timestamp, PRIMARY KEY (scope, version))",
      )

      const owner = `${hostname()}:${process.pid}:${Date.now()}`
      const takeLock = dml(
        "taking the migration lock",
        "INSERT INTO schema_version (scope, version, name, applied_by, applied_at) VALUES (?, ?, 'lock', ?, toTimestamp(now())) IF NOT EXISTS USING TTL ?",
        [Scope, LockVersion, owner, LockTtlSeconds],
      ).pipe(
        Effect.flatMap((rs) =>
          rs.wasApplied()
            ? Effect.void
            : Effect.fail(
                StoreError.of(
                  "migrate",
                  `another migrator (${String(rs.first()?.get("applied_by"))}) holds the migration lock; it expires ${LockTtlSeconds} s after it was taken`,
                ),
              ),
        ),
      )
      yield* takeLock.pipe(
        Effect.retry({
          schedule: Schedule.spaced("1 second"),
          until: (e) => !e.message.includes("holds the migration lock"),
        }),
        Effect.timeoutFail({
          duration: Duration.decode(options.lockWait ?? Duration.minutes(2)),
          onTimeout: () =>
            StoreError.of("migrate", "timed out waiting for the migration lock held by another migrator"),
        }),
      )
      yield* Effect.addFinalizer(() =>
        dml(
          "releasing the migration lock",
          "DELETE FROM schema_version WHERE scope = ? AND version = ? IF applied_by = ?",
          [Scope, LockVersion, owner],
        ).pipe(Effect.ignore),
      )

      const rows = yield* dml(
        "reading schema_version",
        "SELECT version, name, checksum FROM schema_version WHERE scope = ?",
        [Scope],
        true,
      )
      const applied = new Map<number, { name: string; checksum: string }>()
      for (const row of rows.rows) {
        const version = Number(row.get("version"))
        if (version !== LockVersion)
          applied.set(version, { name: String(row.get("name")), checksum: String(row.get("checksum")) })
      }
      for (const m of migrations) {
        const done = applied.get(m.version)
        if (done && done.checksum !== m.checksum)
          return yield* StoreError.of(
            "migrate",
            `migration ${m.name} differs from the one applied to keyspace "${keyspace}" as ${done.name} (checksum ${done.checksum.slice(0, 12)} vs ${m.checksum.slice(0, 12)}): never edit an applied migration, add a new one`,
          )
      }

      const newlyApplied: Array<{ version: number; name: string }> = []
      for (const m of migrations) {
        if (applied.has(m.version)) continue
        yield* Effect.logInfo(`applying Cassandra migration ${m.name} to keyspace ${keyspace}`)
        for (const statement of m.statements)
          yield* ddl(client, `migration ${m.name}, statement "${statement.slice(0, 60)}..."`, statement)
        yield* dml(
          `recording migration ${m.name}`,
          "INSERT INTO schema_version (scope, version, name, checksum, applied_by, applied_at) VALUES (?, ?, ?, ?, ?, toTimestamp(now())) IF NOT EXISTS",
          [Scope, m.version, m.name, m.checksum, owner],
        )
        newlyApplied.push({ version: m.version, name: m.name })
      }
      const version = Math.max(0, ...applied.keys(), ...newlyApplied.map((m) => m.version))
      return { keyspace, createdKeyspace, applied: newlyApplied, version }
    }),
  )
