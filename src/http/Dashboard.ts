import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { HttpSettings } from "./Settings.js"
import { dashboardFields } from "./StatusEncoding.js"

const asset = (name: string) => readFileSync(new URL(`./dashboard/${name}`, import.meta.url), "utf8")
const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`

/**
 * The policy of the pages the library serves (dashboard, API docs): exactly one inline script and
 * one inline style, allowed by hash; requests only to this server; no frames, forms or base URL.
 */
export const pageCsp = (script: string, style: string): string =>
  [
    "default-src 'none'",
    `script-src ${sha256(script)}`,
    `style-src ${sha256(style)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ")

/**
 * The dashboard page: one static HTML document with its CSS and JS inline (no CDN, works
 * offline), and the status fields it lists (derived from StatusFields.ts) inline as JSON data (a
 * data block, which the CSP does not govern: it never runs). The CSP allows exactly that script and
 * style, so even markup that slipped into the page could run nothing; the script itself only ever
 * writes text into the DOM.
 */
export const page = (): { readonly html: string; readonly csp: string } => {
  const css = asset("app.css")
  const js = asset("app.js")
  const html = asset("index.html")
    // JSON data, not a script: "<" escaped so nothing in it can close the element.
    .replace(`"STATUS_FIELDS"`, () => JSON.stringify(dashboardFields).replaceAll("<", "\\u003c"))
    .replace("/*CSS*/", () => css)
    .replace("/*JS*/", () => js)
  const csp = pageCsp(js, css)
  return { html, csp }
}

/** GET /jobsOverview (the dashboard) and GET / (a redirect to it). */
export const layer = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const { basePath } = yield* HttpSettings
    const { html, csp } = yield* Effect.sync(page)
    const response = HttpServerResponse.html(html).pipe(
      HttpServerResponse.setHeaders({
        "content-security-policy": csp,
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "cache-control": "no-cache",
      }),
    )
    yield* router.get("/jobsOverview", Effect.succeed(response))
    yield* router.get(
      "/",
      Effect.succeed(HttpServerResponse.redirect(`${basePath}/jobsOverview`, { status: 307 })),
    )
  }),
)
