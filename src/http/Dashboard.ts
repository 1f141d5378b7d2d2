import { createHash } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import type * as Esbuild from "esbuild"
import { HttpSettings } from "./Settings.js"
import { dashboardFields } from "./StatusEncoding.js"

const assetPath = (name: string) => fileURLToPath(new URL(`./dashboard/${name}`, import.meta.url))
const asset = (name: string) => readFileSync(assetPath(name), "utf8")

/**
 * Bundles the dashboard's TypeScript modules (`<dir>/main.ts` and what it imports) into one
 * self-contained script: an IIFE, no imports left. `inputs`: the files it was made of.
 * scripts/build.mjs calls this for the package; esbuild is a devDependency, loaded only here.
 */
export const bundleDashboard = (
  dir: string,
): { readonly script: string; readonly inputs: ReadonlyArray<string> } => {
  const esbuild = createRequire(import.meta.url)("esbuild") as typeof Esbuild
  const result = esbuild.buildSync({
    entryPoints: [path.join(dir, "main.ts")],
    absWorkingDir: dir,
    bundle: true,
    format: "iife",
    target: "es2022",
    platform: "browser",
    charset: "utf8",
    write: false,
    metafile: true,
    logLevel: "silent",
  })
  return { script: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile.inputs) }
}

let script: string | undefined

/**
 * The dashboard's script. The package has it prebuilt (dist/http/dashboard/app.js, written by
 * scripts/build.mjs), since esbuild is a devDependency its users do not install. Run from source
 * (tsx, vitest) there is no such file: the modules are bundled at first use (some tens of
 * milliseconds, once per process), so `npm start` and `npm test` need no build step and no generated
 * file is committed.
 */
const dashboardScript = (): string => {
  if (script !== undefined) return script
  if (existsSync(assetPath("app.js"))) script = asset("app.js")
  else if (existsSync(assetPath("main.ts")))
    script = bundleDashboard(path.dirname(assetPath("main.ts"))).script
  else throw new Error(`the dashboard's script is missing: ${assetPath("app.js")} (npm run build writes it)`)
  return script
}

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
  const js = dashboardScript()
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
