import * as os from "node:os"
import { describeCause, innermostCause, StoreError } from "../../domain/Errors.js"
import * as Env from "../../Env.js"

/** Where the store connects, as messages name it: never with the password. */
export interface Target {
  readonly display: string
  readonly host: string
  readonly port: string
  readonly database: string
  /** Why the URL cannot be used, when it cannot. */
  readonly invalid?: string
}

const masked = (url: string) => url.replace(/(\/\/[^:/@]*:)[^@/]*@/, "$1***@")

/** The target of a URL, or of the separate fields with node-postgres' defaults (PG* variables). */
export const target = (
  url: string | undefined,
  fields: {
    readonly host?: string | undefined
    readonly port?: number | undefined
    readonly database?: string | undefined
    readonly username?: string | undefined
  },
): Target => {
  if (url !== undefined) {
    let parsed: URL | undefined
    try {
      parsed = new URL(url)
    } catch {
      parsed = undefined
    }
    if (parsed === undefined || (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:"))
      return {
        display: `"${masked(url)}"`,
        host: "",
        port: "",
        database: "",
        invalid: "this is not a PostgreSQL URL; write it as postgres://user:password@host:5432/database",
      }
    if (parsed.password !== "") parsed.password = "***"
    const user = decodeURIComponent(parsed.username) || os.userInfo().username
    return {
      display: parsed.toString(),
      host: parsed.hostname || "localhost",
      port: parsed.port || "5432",
      database: decodeURIComponent(parsed.pathname.slice(1)) || user,
    }
  }
  // What node-postgres does with fields left out: it reads the PG* variables itself.
  const env = (variable: Env.Variable<unknown>) => process.env[variable.name]
  const host = fields.host ?? env(Env.PgHost) ?? "localhost"
  const port = String(fields.port ?? env(Env.PgPort) ?? 5432)
  const user = fields.username ?? env(Env.PgUser) ?? os.userInfo().username
  const database = fields.database ?? env(Env.PgDatabase) ?? user
  return { display: `postgres://${user}@${host}:${port}/${database}`, host, port, database }
}

/** The driver's or the server's cause first, then what to do about it. */
export const explain = (reason: unknown, at: Target, setting: string | undefined): string => {
  if (typeof reason === "string") return reason
  const elsewhere = setting === undefined ? "connect to another server" : `set ${setting} to another server`
  const root = innermostCause(reason) as { code?: unknown; message?: unknown } | null | undefined
  const code = typeof root?.code === "string" ? root.code : ""
  const text = describeCause(root)
  const hostPort = `${at.host}:${at.port}`
  if (code === "ECONNREFUSED")
    return `connection refused by ${hostPort} (ECONNREFUSED); start PostgreSQL there, or ${elsewhere}`
  if (code === "ENOTFOUND" || code === "EAI_AGAIN")
    return `host ${at.host} not found (${code}); correct the host name, or ${elsewhere}`
  // The pool wraps its timeout around the socket's end ("terminated unexpectedly"): look along the chain.
  const timeout = messages(reason).find((m) => /timeout|timed out/i.test(m))
  if (timeout !== undefined)
    return `no answer from ${hostPort} (${timeout}); check the host, the port and any firewall, and that the server is not paused`
  if (/terminated unexpectedly/.test(text))
    return `${text}; check that ${hostPort} is a PostgreSQL server that accepts this client (pg_hba.conf, SSL)`
  if (code === "28P01") return `${text}; check the user name and password`
  if (code === "28000") return `${text}; check the user name, and pg_hba.conf on the server`
  if (code === "3D000")
    return `${text}; create it (CREATE DATABASE ${at.database}), or ${setting === undefined ? "name" : `set ${setting} to`} an existing database`
  if (code === "42501")
    return `${text}; let this user create tables in the schema (GRANT CREATE ON SCHEMA ...), or use the schema's owner`
  if (code === "3F000") return `${text}; create the schema, or name an existing one`
  if (code === "57P03") return `${text}; the server is starting or stopping, try again`
  return reason instanceof StoreError ? reason.message : text
}

/** The messages along the `cause` chain, outermost first. */
const messages = (error: unknown): Array<string> => {
  const out: Array<string> = []
  for (let e = error; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause)
    if (e instanceof Error) out.push(e.message)
  return out
}
