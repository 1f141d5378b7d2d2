import { readdirSync, readFileSync } from "node:fs"
import cassandra from "cassandra-driver"
import { Schema } from "effect"
import { afterEach, describe, expect, it, vi } from "vitest"
import type { JobId, TriggerId } from "../../src/domain/Ids.js"
import type * as JobStatusModule from "../../src/domain/JobStatus.js"
import type { JobType, LockType } from "../../src/domain/Names.js"
import type * as StatusFieldsModule from "../../src/domain/StatusFields.js"

/**
 * Issue 14.5, one definition of a status: every consumer of a status (the domain class, the SQL row,
 * the Cassandra row, the HTTP JSON, the dashboard) is derived from `statusFields`
 * (src/domain/StatusFields.ts), and every store's migrations create exactly its columns. The last
 * test adds a field to that list alone and watches every consumer follow, and the migration check
 * name the one missing column per store: adding a field is one edit plus a migration per store.
 */

const StatusFieldsPath = "../../src/domain/StatusFields.js"

/** Every module that reads a status, loaded fresh (after a mock of StatusFields, with that list). */
const consumers = async () => {
  const fields: typeof StatusFieldsModule = await import("../../src/domain/StatusFields.js")
  const domain: typeof JobStatusModule = await import("../../src/domain/JobStatus.js")
  const sql = await import("../../src/stores/sql/SqlStatuses.js")
  const cassandraStatuses = await import("../../src/stores/cassandra/CassandraStatuses.js")
  const cassandraSchema = await import("../../src/stores/cassandra/CassandraTables.js")
  const api = await import("../../src/http/ApiSchemas.js")
  const json = await import("../../src/http/StatusEncoding.js")
  const dashboard = await import("../../src/http/Dashboard.js")
  return { fields, domain, sql, cassandraStatuses, cassandraSchema, api, json, dashboard }
}

/** A status with every field set (optional ones too), plus `extra`. */
const fullStatus = (domain: typeof JobStatusModule, extra: Record<string, unknown> = {}) =>
  new domain.JobStatus({
    triggerId: "0192f5a8-7b3c-7d4e-8f00-000000000001" as TriggerId,
    jobType: "import" as JobType,
    jobId: "0192f5a8-7b3c-7d4e-8f00-000000000002" as JobId,
    lockType: "import-lock" as LockType,
    jobState: "FAILED",
    jobResult: "FAILED",
    jobStatusTs: new Date(1_730_000_000_123),
    content: { step: 3, items: ["a", "b"] },
    fencingToken: 42,
    attempt: 2,
    triggerSource: "cron",
    reason: "disk full",
    scheduledAt: new Date(1_730_000_000_000),
    params: { day: "2026-11-01" },
    instance: "node-1",
    ...extra,
  } as ConstructorParameters<typeof domain.JobStatus>[0])

// --- migrations: the columns each store's migrations give its status tables --------------------------

const migrationText = (store: string) =>
  readdirSync(new URL(`../../migrations/${store}/`, import.meta.url))
    .sort()
    .map((file) => readFileSync(new URL(`../../migrations/${store}/${file}`, import.meta.url), "utf8"))
    .join("\n")

/** Columns per table after every CREATE TABLE and ALTER TABLE ... ADD [COLUMN] of the migrations. */
const migratedColumns = (store: string): Map<string, Set<string>> => {
  const text = migrationText(store).replace(/--.*$/gm, "")
  const tables = new Map<string, Set<string>>()
  for (const m of text.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?(\w+) \(([\s\S]*?)\n\)/gi)) {
    const columns = m[2]!
      .split("\n")
      .map((line) => line.trim().split(/\s+/)[0]!)
      .filter((word) => word !== "" && !/^PRIMARY$/i.test(word))
    tables.set(m[1]!, new Set(columns))
  }
  for (const m of text.matchAll(/ALTER TABLE (\w+) ADD (?:COLUMN )?(?:IF NOT EXISTS )?(\w+)/gi))
    tables.get(m[1]!)?.add(m[2]!)
  return tables
}

/** Each store's status tables, with the columns they have besides a status' (keys, ordering). */
const statusTables: Record<string, Record<string, ReadonlyArray<string>>> = {
  sqlite: { ha_status_history: ["id"], ha_executions: [] },
  postgres: { ha_status_history: ["id"], ha_executions: [] },
  cassandra: {
    status_history: ["status_id"],
    status_latest: ["bucket", "status_id"],
    status_by_day: ["day", "status_id"],
    status_pending: ["status_id"],
  },
}

/** What the migrations lack or have beyond the status columns, as "store table +column / -column". */
const migrationMismatches = (statusColumns: ReadonlyArray<string>): Array<string> =>
  Object.entries(statusTables).flatMap(([store, tables]) => {
    const migrated = migratedColumns(store)
    return Object.entries(tables).flatMap(([table, extra]) => {
      const expected = new Set([...statusColumns, ...extra])
      const actual = migrated.get(table) ?? new Set<string>()
      return [
        ...[...expected].filter((c) => !actual.has(c)).map((c) => `${store} ${table} lacks ${c}`),
        ...[...actual].filter((c) => !expected.has(c)).map((c) => `${store} ${table} has ${c}`),
      ]
    })
  })

/** Asserts that every consumer has exactly the fields of the list, in its terms. */
const checkDerived = async (
  c: Awaited<ReturnType<typeof consumers>>,
  extra: Record<string, unknown> = {},
) => {
  const { fields, domain, sql, cassandraStatuses, cassandraSchema, api, json, dashboard } = c
  const names = Object.keys(fields.statusFields)
  const columns = fields.columnNames(fields.statusFields)
  const keyColumns = ["job_type", "job_id"]
  const status = fullStatus(domain, extra)

  // The domain class.
  expect(Object.keys(domain.JobStatus.fields)).toEqual(names)

  // SQL: the row written to both tables, the upsert's SET list, and reading the row back.
  const row = sql.columns(status)
  expect(Object.keys(row)).toEqual(columns)
  expect(sql.updatedColumns).toEqual(columns.filter((col) => !keyColumns.includes(col)))
  expect(domain.fromColumns((col) => row[col], sql.sqlCodecs)).toEqual(status)
  // PostgreSQL returns bigint as text.
  const pgRow = Object.fromEntries(
    Object.entries(row).map(([k, v]) => [k, typeof v === "number" ? String(v) : v]),
  )
  expect(domain.fromColumns((col) => pgRow[col], sql.sqlCodecs)).toEqual(status)

  // Cassandra: the columns written and selected, the columns the layer requires, reading a row back.
  expect([...keyColumns, ...cassandraStatuses.valueColumns].sort()).toEqual([...columns].sort())
  expect(cassandraStatuses.valueColumns).toEqual(columns.filter((col) => !keyColumns.includes(col)))
  for (const table of ["status_history", "status_latest", "status_by_day", "status_pending"])
    expect(cassandraSchema.requiredColumns[table]).toEqual(expect.arrayContaining([...columns]))
  const cRow = domain.toColumns(status, cassandraStatuses.cassandraCodecs)
  const fromDriver = Object.fromEntries(
    Object.entries(cRow).map(([col, v]) => [
      col,
      col === "fencing_token" ? cassandra.types.Long.fromNumber(v as number) : v,
    ]),
  )
  expect(domain.fromColumns((col) => fromDriver[col], cassandraStatuses.cassandraCodecs)).toEqual(status)

  // HTTP: the schema's fields (ha-jobs' first, then startTime and duration, then ours) and the JSON.
  const haJobs = Object.entries(fields.statusFields)
    .filter(([, f]) => f.haJobs)
    .map(([n]) => n)
  const ours = names.filter((n) => !haJobs.includes(n))
  expect(Object.keys(api.StatusJson.fields)).toEqual([...haJobs, "startTime", "duration", ...ours])
  const body = json.toStatusJson(status)
  expect(Object.keys(body)).toEqual(Object.keys(api.StatusJson.fields))
  expect(() => Schema.decodeUnknownSync(api.StatusJson)(body)).not.toThrow()

  // The dashboard: every JSON field but content (shown apart), in the page as data.
  expect(json.dashboardFields).toEqual(Object.keys(api.StatusJson.fields).filter((n) => n !== "content"))
  const { html } = dashboard.page()
  const data = /<script type="application\/json" id="status-fields">(.*?)<\/script>/.exec(html)?.[1]
  expect(JSON.parse(data ?? "null")).toEqual(json.dashboardFields)
}

describe("one definition of a status (StatusFields.ts)", () => {
  afterEach(() => {
    vi.doUnmock(StatusFieldsPath)
    vi.resetModules()
  })

  it("the domain class, SQL and Cassandra rows, HTTP JSON and dashboard list are derived from it", async () => {
    await checkDerived(await consumers())
  })

  it("keeps every store's row format: a status written by the code before it reads the same", async () => {
    const { domain, sql } = await consumers()
    // The SQL row as the hand-written mapping wrote it.
    const before = {
      trigger_id: "0192f5a8-7b3c-7d4e-8f00-000000000001",
      job_type: "import",
      job_id: "0192f5a8-7b3c-7d4e-8f00-000000000002",
      lock_type: "import-lock",
      job_state: "FAILED",
      job_result: "FAILED",
      job_status_ts: 1_730_000_000_123,
      content: '{"step":3,"items":["a","b"]}',
      fencing_token: 42,
      attempt: 2,
      trigger_source: "cron",
      reason: "disk full",
      scheduled_at: 1_730_000_000_000,
      params: '{"day":"2026-11-01"}',
      instance: "node-1",
    }
    expect(sql.columns(fullStatus(domain))).toEqual(before)
    const minimal = {
      ...before,
      content: null,
      fencing_token: null,
      reason: null,
      scheduled_at: null,
      params: null,
      instance: null,
    }
    const read = domain.fromColumns((col) => minimal[col as keyof typeof minimal], sql.sqlCodecs)
    for (const name of ["content", "fencingToken", "reason", "scheduledAt", "params", "instance"] as const) {
      expect(read[name]).toBeUndefined()
      expect(name in read).toBe(false)
    }
    expect(sql.columns(read)).toEqual(minimal)
  })

  it("README's table of routes lists the status JSON's fields, in order", async () => {
    const { api } = await consumers()
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8")
    const line = readme.split("\n").find((l) => l.startsWith("| `GET /jobs/:jobType/:jobId` |")) ?? ""
    const listed = [...line.matchAll(/`([^`]*)`/g)]
      .slice(1)
      .flatMap((m) => m[1]!.split(","))
      .map((name) => name.trim())
      .filter((name) => name !== "")
    expect(listed).toEqual(Object.keys(api.StatusJson.fields))
  })

  it("every store's migrations create exactly the status columns", async () => {
    const { fields } = await consumers()
    expect(migrationMismatches(fields.columnNames(fields.statusFields))).toEqual([])
  })

  it("adding a field is one edit: every consumer follows, the migration check names what each store lacks", async () => {
    vi.resetModules()
    vi.doMock(StatusFieldsPath, async (importOriginal) => {
      const original = await importOriginal<typeof StatusFieldsModule>()
      const priority: StatusFieldsModule.StatusField = {
        schema: Schema.Int,
        optional: true,
        column: "priority",
        storage: "int",
        haJobs: false,
        description: "A made-up field: the one edit",
      }
      return { ...original, statusFields: { ...original.statusFields, priority } }
    })
    const c = await consumers()
    expect(Object.keys(c.fields.statusFields)).toContain("priority")
    await checkDerived(c, { priority: 7 })
    expect((fullStatus(c.domain, { priority: 7 }) as any).priority).toBe(7)
    expect(c.sql.columns(fullStatus(c.domain, { priority: 7 })).priority).toBe(7)
    expect(c.json.toStatusJson(fullStatus(c.domain, { priority: 7 }))).toMatchObject({ priority: 7 })
    expect(c.json.dashboardFields.at(-1)).toBe("priority")
    // What is left to do by hand: one migration per store.
    expect(migrationMismatches(c.fields.columnNames(c.fields.statusFields))).toEqual([
      "sqlite ha_status_history lacks priority",
      "sqlite ha_executions lacks priority",
      "postgres ha_status_history lacks priority",
      "postgres ha_executions lacks priority",
      "cassandra status_history lacks priority",
      "cassandra status_latest lacks priority",
      "cassandra status_by_day lacks priority",
      "cassandra status_pending lacks priority",
    ])
  })
})
