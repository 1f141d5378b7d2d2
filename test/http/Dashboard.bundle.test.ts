import { execFile } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import * as Job from "../../src/core/Job.js"
import { bundleDashboard } from "../../src/http/Dashboard.js"
import { memoryStores } from "../support/harness.js"
import { startWebHandler } from "../support/httpHarness.js"

/**
 * The dashboard's TypeScript modules (src/http/dashboard) become one inline script: bundled by
 * esbuild, served inside the page under a CSP hash, and typed by the API's own schemas.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const sources = path.join(root, "src/http/dashboard")
const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`

/** The dashboard's .ts files, relative to its folder. */
const modules = (dir = sources): Array<string> =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory()
        ? modules(path.join(dir, e.name))
        : e.name.endsWith(".ts")
          ? [path.relative(sources, path.join(dir, e.name))]
          : [],
    )

describe("the dashboard's script", () => {
  const { script, inputs } = bundleDashboard(sources)

  it("is one self-contained IIFE, made of the dashboard's modules only (no effect code)", () => {
    expect([...inputs].sort()).toEqual(modules().sort())
    expect(script).toMatch(/^(?:"use strict";\n)?\(\(\) => \{\n/)
    expect(script).toMatch(/\n\}\)\(\);\n$/)
    expect(script).not.toMatch(/^\s*(?:import|export)\b/m)
    expect(script).not.toMatch(/\b(?:require|import)\s*\(/)
    expect(script).not.toMatch(/effect/i)
    // Inlined into a <script> element: nothing in it may end that element.
    expect(script).not.toMatch(/<\/script/i)
  })

  it("is the script the served page inlines, and the page's CSP allows exactly it", async () => {
    const app = await startWebHandler({
      stores: Effect.runSync(memoryStores),
      jobs: [Job.make({ type: "import", run: Effect.void })],
    })
    try {
      const res = await app.fetch("/jobsOverview")
      expect(res.status).toBe(200)
      const html = await res.text()
      const csp = res.headers.get("content-security-policy") ?? ""
      const inline = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1])
      expect(inline).toEqual([script])
      expect(csp).toContain(`script-src ${sha256(script)};`)
      const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!
      expect(csp).toContain(`style-src ${sha256(style)};`)
    } finally {
      await app.close()
    }
  })
})

describe("the dashboard's types", () => {
  // A copy of one module, its relative imports made absolute, type-checked twice: as it is and with
  // a field the API does not have. Only the second may fail, and for that field.
  it("are the API's: a module reading a field the API does not have does not type-check", async () => {
    // Inside the repo (test-artifacts/ is not committed), so node_modules resolves as for src/.
    fs.mkdirSync(path.join(root, "test-artifacts"), { recursive: true })
    const dir = fs.mkdtempSync(path.join(root, "test-artifacts", "dashboard-types-"))
    try {
      const module = path.join(sources, "views", "history.ts")
      const text = fs
        .readFileSync(module, "utf8")
        .replace(
          /from "(\.\.?\/[^"]+)"/g,
          (_, spec: string) => `from "${path.resolve(path.dirname(module), spec)}"`,
        )
      expect(text).toContain("j.triggerSource")
      fs.writeFileSync(path.join(dir, "pristine.ts"), text)
      fs.writeFileSync(path.join(dir, "misspelled.ts"), text.replace("j.triggerSource", "j.triggerSorce"))
      fs.writeFileSync(
        path.join(dir, "tsconfig.json"),
        JSON.stringify({
          extends: path.join(root, "tsconfig.json"),
          compilerOptions: { noEmit: true },
          include: [],
          files: ["pristine.ts", "misspelled.ts"],
        }),
      )
      const tsc = path.join(root, "node_modules/typescript/bin/tsc")
      const run = await promisify(execFile)(process.execPath, [tsc, "-p", ".", "--pretty", "false"], {
        cwd: dir,
        encoding: "utf8",
        timeout: 60_000,
      }).then(
        (r) => ({ code: 0, out: r.stdout + r.stderr }),
        (e: { code?: number; stdout?: string; stderr?: string }) => ({
          code: e.code ?? -1,
          out: `${e.stdout ?? ""}${e.stderr ?? ""}`,
        }),
      )
      expect(run.code, run.out).not.toBe(0)
      const errors = run.out.split("\n").filter((line) => /error TS\d+/.test(line))
      expect(errors, run.out).toHaveLength(1)
      expect(errors[0]).toMatch(/^misspelled\.ts\(\d+,\d+\): error TS2551: .*'triggerSorce'/)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
