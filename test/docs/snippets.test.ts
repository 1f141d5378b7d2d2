import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import ts from "typescript"
import { afterAll, assert, describe, it } from "vitest"
import { type Snippet, snippetsOf } from "./snippets.js"

/**
 * README's and docs/'s TypeScript blocks compile, as a user would paste them (`effect-ha-jobs`
 * resolves to src/), under the project's strict settings; the ones marked `<!-- snippet: run -->`
 * also run to their end. See snippets.ts for the markers.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const pages = [
  "README.md",
  ...(fs.existsSync(path.join(root, "docs"))
    ? fs
        .readdirSync(path.join(root, "docs"))
        .filter((f) => f.endsWith(".md"))
        .map((f) => `docs/${f}`)
    : []),
]
const dir = path.join(root, "test-artifacts", "snippets")
fs.rmSync(dir, { recursive: true, force: true })
fs.mkdirSync(dir, { recursive: true })
afterAll(() => {
  if (!process.env.KEEP_SNIPPETS) fs.rmSync(dir, { recursive: true, force: true })
})

const snippets = pages.flatMap((page) => snippetsOf(root, page))
const fileOf = (s: Snippet) =>
  path.join(dir, `${s.where.replace(/[^A-Za-z0-9]+/g, "_")}${s.run === "vitest" ? ".test" : ""}.ts`)
for (const s of snippets) if (s.skip === undefined) fs.writeFileSync(fileOf(s), `${s.code}\n`)
fs.writeFileSync(
  path.join(dir, "tsconfig.json"),
  JSON.stringify({
    extends: "../../tsconfig.json",
    compilerOptions: {
      paths: {
        "effect-ha-jobs": ["../../src/index.ts"],
        "effect-ha-jobs/testing": ["../../src/testing/index.ts"],
      },
    },
    include: ["*.ts"],
  }),
)

// For the test blocks: vitest on this folder alone, `effect-ha-jobs` resolved to src/ as above.
fs.writeFileSync(
  path.join(dir, "vitest.config.mjs"),
  `export default { resolve: { alias: [
    { find: /^effect-ha-jobs\\/testing$/, replacement: ${JSON.stringify(path.join(root, "src/testing/index.ts"))} },
    { find: /^effect-ha-jobs$/, replacement: ${JSON.stringify(path.join(root, "src/index.ts"))} },
  ] }, test: { include: ["*.test.ts"] } }\n`,
)

describe("documentation snippets", () => {
  it("there are some, and every skipped one says why", () => {
    assert.isAbove(snippets.length, 3)
    for (const s of snippets.filter((s) => s.skip !== undefined))
      console.log(`snippet ${s.where} not checked: ${s.skip}`)
  })

  it("every TypeScript block type-checks", () => {
    const parsed = ts.getParsedCommandLineOfConfigFile(
      path.join(dir, "tsconfig.json"),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"))
        },
      },
    )!
    const program = ts.createProgram(parsed.fileNames, parsed.options)
    const bySnippet = new Map(snippets.map((s) => [path.resolve(fileOf(s)), s]))
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file === undefined || bySnippet.has(path.resolve(d.file.fileName)))
      .map((d) => {
        const message = ts.flattenDiagnosticMessageText(d.messageText, " ")
        if (d.file === undefined || d.start === undefined) return message
        const { line } = d.file.getLineAndCharacterOfPosition(d.start)
        const text = d.file.text.split("\n")[line]?.trim()
        return `${bySnippet.get(path.resolve(d.file.fileName))!.where} block line ${line + 1} (${text}): ${message}`
      })
    assert.deepStrictEqual(problems, [])
  }, 120_000)

  for (const s of snippets.filter((s) => s.run === "vitest"))
    it(`${s.where} passes under vitest`, async () => {
      const vitest = path.join(root, "node_modules", "vitest", "vitest.mjs")
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          vitest,
          "run",
          "--root",
          dir,
          "--config",
          path.join(dir, "vitest.config.mjs"),
          path.basename(fileOf(s)),
        ],
        { cwd: dir, timeout: 120_000, env: { ...process.env, FORCE_COLOR: "0" } },
      )
      // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colours
      assert.match(stdout.replace(/\x1b\[[0-9;]*m/g, ""), /Tests\s+\d+ passed/)
    }, 150_000)

  for (const s of snippets.filter((s) => s.run === "program"))
    it(`${s.where} runs to its end`, async () => {
      // tsx reads the tsconfig's paths, so `effect-ha-jobs` is src/ here too.
      const { stdout, stderr } = await promisify(execFile)(
        process.execPath,
        ["--import", "tsx", path.basename(fileOf(s))],
        {
          cwd: dir,
          timeout: 60_000,
          env: { ...process.env, TSX_TSCONFIG_PATH: path.join(dir, "tsconfig.json") },
        },
      )
      console.log(`${s.where}:\n${stdout}${stderr}`)
    }, 90_000)
})
