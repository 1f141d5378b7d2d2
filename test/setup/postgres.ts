/**
 * What the PostgreSQL test files share: the server at DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/postgres), and a fresh schema per test file, dropped after it.
 * Without a server the PostgreSQL tests skip, saying why; with CI=true a missing server fails the run.
 */
import pg from "pg"
import { afterAll, describe } from "vitest"
import { DefaultUrl } from "../../src/stores/pg/PgStore.js"

export const url = process.env.DATABASE_URL ?? DefaultUrl

const shown = url.replace(/(\/\/[^:/@]*:)[^@/]*@/, "$1***@")

const probe = async (): Promise<string | undefined> => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  client.on("error", () => {})
  try {
    await client.connect()
    await client.query("SELECT 1")
    return undefined
  } catch (e) {
    const cause = e instanceof Error ? e.message || (e as { code?: string }).code : String(e)
    return `no PostgreSQL at ${shown} (${cause}); start one (pg_ctlcluster 15 main start) or set DATABASE_URL`
  } finally {
    await client.end().catch(() => undefined)
  }
}

export const unavailable: string | undefined = await probe()
if (unavailable !== undefined && process.env.CI === "true")
  throw new Error(`PostgreSQL is required when CI=true: ${unavailable}`)

/** A describe block that runs only with a server, and says so visibly when it cannot. */
export const describePostgres = (name: string, body: () => void) => {
  if (unavailable !== undefined) console.warn(`[postgres tests] SKIPPED "${name}": ${unavailable}`)
  describe.skipIf(unavailable !== undefined)(name, body)
}

/** Runs SQL on the test server with a client of its own. */
export const admin = async <A>(run: (client: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await run(client)
  } finally {
    await client.end()
  }
}

/**
 * A schema name for this run of the calling describe block (PgStore creates it); dropped after the
 * block. Call inside describePostgres.
 */
export const freshSchema = (): string => {
  const schema = `ha_jobs_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  afterAll(() => admin((c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)))
  return schema
}
