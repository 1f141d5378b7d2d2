// The API as the dashboard sees it. Every body type is the encoded (JSON) side of the server's own
// schema, imported as a type only: a field renamed in ApiSchemas.ts or ApiErrors.ts is a type error
// here, and the bundle carries none of the server's code.
import type { Schema } from "effect"
import type * as Errors from "../ApiErrors.js"
import type * as Schemas from "../ApiSchemas.js"
import { headers, showTokenPanel } from "./token.js"
import { url } from "./urls.js"

/** What a schema's values look like as JSON on the wire. */
type Json<S extends Schema.Schema.Any> = Schema.Schema.Encoded<S>

/** One execution's status (GET /jobs/:type/:id; without content in lists). */
export type Status = Json<typeof Schemas.StatusJson>
/** GET /jobs */
export type JobTypes = Json<typeof Schemas.JobTypes>
/** GET /jobs/:type: one page of executions, the schedule and the next fire times. */
export type JobList = Json<typeof Schemas.JobList>
/** GET /jobs/:type/:id/history */
export type History = Json<typeof Schemas.History>
/** POST /jobs/:type, 201 */
export type Triggered = Json<typeof Schemas.Triggered>
/** GET /jobs/:type/events */
export type JobEventList = Json<typeof Schemas.JobEventList>
/** GET /instances: heartbeats and the locks held now. */
export type Cluster = Json<typeof Schemas.ClusterJson>
/** GET /audit */
export type AuditList = Json<typeof Schemas.AuditList>
/** The data of an /events `audit` frame. */
export type AuditEvent = Schemas.AuditEvent
/** POST /jobs/:type/pause and /resume, 200 */
export type PauseState = Json<typeof Schemas.PauseState>
/** POST /jobs/:jobType/backfill's answer: the plan. */
export type BackfillPlan = Json<typeof Schemas.BackfillPlanJson>
/** A pause in force, as GET /jobs/:type shows it. */
export type Pause = Json<typeof Schemas.PauseJson>
/** POST /jobs/:type, 409: the lock's holder, maybe of another job type. */
export type AlreadyRunning = Json<typeof Errors.JobAlreadyRunning>
/** Every error answers at least `{"status":"KO","message":...}`; the dashboard shows the message. */
export type ErrorBody = Pick<Json<typeof Errors.StoreUnavailable>, "message">
/** The data of an /events `jobEvent` frame. */
export type JobEventFrame = Schemas.JobEventFrame
/** The data of an /events `expectation` frame. */
export type ExpectationEvent = Schemas.ExpectationEvent
/** The data of the /events frames. */
export type StatusEvent = Schemas.StatusEvent
export type StoreEvent = Schemas.StoreEvent

/** The status fields the details list, in order (put into the page by the server; content apart). */
export type ListedField = Exclude<keyof Status, "content">

/** A failed request: an error status (its body, when JSON), or status 0 for a network error. */
export interface Failure {
  readonly ok: false
  readonly status: number
  readonly body: ErrorBody | null
  readonly location: string | null
}

/** One answer: `ok` when the status is the one `call` was told to expect, then with that body. */
export type Answer<Success> =
  | { readonly ok: true; readonly status: number; readonly body: Success; readonly location: string | null }
  | Failure

/** One request; never throws. A 401 opens the token panel. */
export const call = async <Success>(
  method: "GET" | "POST" | "DELETE",
  path: string,
  success = 200,
  json?: unknown,
): Promise<Answer<Success>> => {
  try {
    const res = await fetch(url(path), {
      method,
      headers: headers(
        json === undefined
          ? { accept: "application/json" }
          : { accept: "application/json", "content-type": "application/json" },
      ),
      cache: "no-store",
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
    })
    let body: unknown = null
    try {
      body = await res.json()
    } catch {}
    const message = (body as ErrorBody | null)?.message
    if (res.status === 401) showTokenPanel(message ? `The server said: ${message}` : "A token is required.")
    const location = res.headers.get("location")
    return res.status === success
      ? { ok: true, status: res.status, body: body as Success, location }
      : { ok: false, status: res.status, body: body as ErrorBody | null, location }
  } catch (e) {
    return { ok: false, status: 0, body: { message: String((e as Error)?.message ?? e) }, location: null }
  }
}

/** What went wrong, in words, for the feedback area. */
export const errorText = (what: string, res: Failure) => {
  const message = res.body?.message ?? ""
  switch (res.status) {
    case 0:
      return `${what}: network error (${message})`
    case 401:
      return `${what}: not authorized (${message}). Set the API token.`
    case 403:
      return `${what}: forbidden (${message})`
    case 404:
      return `${what}: not found (${message})`
    case 503:
      return `${what}: the store is unavailable (${message})`
    default:
      return `${what}: HTTP ${res.status}${message ? ` (${message})` : ""}`
  }
}
