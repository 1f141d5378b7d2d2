// URLs are relative to this page, so the dashboard works wherever the app is mounted.

/** The app's base path: this page's path without its own name ("/ops/ha-jobs/"). */
export const base = (() => {
  const path = location.pathname.replace(/\/jobsOverview\/?$/, "/")
  return path.endsWith("/") ? path : `${path}/`
})()

/** An API path ("jobs/x") as a URL under the base path. */
export const url = (path: string) => base + path

export const enc = encodeURIComponent

/** The dashboard's own link to a job type, or to one of its executions. */
export const typeHref = (type: string, jobId?: string | null) =>
  `#/type/${enc(type)}${jobId ? `/${enc(jobId)}` : ""}`

/** "/base/jobs/<type>/<id>" -> [type, id] */
export const parseLocation = (location: string | null): readonly [string, string] | null => {
  const m = /\/jobs\/([^/?#]+)\/([^/?#]+)$/.exec(location ?? "")
  return m ? [decodeURIComponent(m[1]!), decodeURIComponent(m[2]!)] : null
}
