import { execFile, execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, assert, beforeAll, describe, it } from "vitest"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

/** Plain Node and npm: nothing of vitest's, tsx's or the running npm script's settings. */
const cleanEnv = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" }

/** README's install command for library users, split into arguments. */
const readmeInstall = (): Array<string> => {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
  const line = /```sh\n(npm install effect-ha-jobs [^\n]*)\n```/.exec(readme)?.[1]
  assert.isDefined(line, "README has an ```sh block with `npm install effect-ha-jobs ...`")
  return line!.split(/\s+/)
}

// What `npm publish` would ship, used the way a user's service uses it: `npm pack` (which builds
// dist/ first), the tarball extracted as node_modules/effect-ha-jobs of a scratch folder inside the
// repo (so its dependencies resolve from the repo's node_modules), and a plain-Node consumer.
let scratch: string
let tarball: string
let files: Array<string>
beforeAll(() => {
  scratch = path.join(root, "test-artifacts", "pack")
  fs.rmSync(scratch, { recursive: true, force: true })
  fs.mkdirSync(scratch, { recursive: true })
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", scratch], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 120_000,
  })
  const [packed] = JSON.parse(out.slice(out.indexOf("["))) as Array<{
    filename: string
    files: Array<{ path: string }>
  }>
  tarball = path.join(scratch, packed!.filename)
  files = packed!.files.map((f) => f.path)
}, 180_000)
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }))

/** The consumer program's last line: what it saw. */
const runConsumer = (cwd: string) => {
  fs.copyFileSync(path.join(root, "test/package/consumer.mjs"), path.join(cwd, "consumer.mjs"))
  const out = execFileSync(process.execPath, ["consumer.mjs"], {
    cwd,
    encoding: "utf8",
    timeout: 60_000,
    env: cleanEnv,
  })
  return JSON.parse(out.trim().split("\n").pop()!)
}

const consumerSaw = {
  state: "FINISHED",
  content: { greeting: "hello" },
  dashboard: 200,
  dashboardHasScript: true,
  listed: 200,
  rows: 1,
}

describe("the packed library", () => {
  it("runs a job on SQLite and serves the dashboard and API from plain Node, without TypeScript", () => {
    const app = path.join(scratch, "in-repo")
    const pkg = path.join(app, "node_modules", "effect-ha-jobs")
    fs.mkdirSync(pkg, { recursive: true })
    assert.include(files, "dist/index.js")
    assert.include(files, "dist/index.d.ts")
    assert.include(files, "dist/http/dashboard/app.js")
    assert.include(files, "dist/testing/index.js")
    assert.include(files, "migrations/sqlite/0001_init.sql")
    assert.include(files, "migrations/postgres/0001_init.sql")
    assert.include(files, "migrations/sqlite/0002_slot_claim_id.sql")
    assert.include(files, "migrations/postgres/0002_slot_claim_id.sql")
    // Every migration the SQL store would run from the repo ships, later ones too.
    for (const dialect of ["sqlite", "postgres"])
      for (const file of fs.readdirSync(path.join(root, "migrations", dialect)))
        assert.include(files, `migrations/${dialect}/${file}`)
    assert.isFalse(
      files.some((f) => f.startsWith("src/") || f.startsWith("test/")),
      "sources and tests stay out",
    )
    // Extracted inside the repo: its dependencies resolve from the repo's node_modules.
    execFileSync("tar", ["-xzf", tarball, "-C", pkg, "--strip-components=1"])
    assert.deepStrictEqual(runConsumer(app), consumerSaw)
  }, 120_000)

  it("installs into an empty app with exactly README's command (from the registry) and runs there", async () => {
    const app = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-install-"))
    try {
      fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true }))
      const [npm, install, name, ...rest] = readmeInstall()
      assert.deepStrictEqual([npm, install, name], ["npm", "install", "effect-ha-jobs"])
      // The package is not published from here: its tarball stands in for its name.
      // Asynchronous: a minute of blocking would starve vitest's own messages to this worker.
      await promisify(execFile)("npm", [install!, tarball, ...rest], {
        cwd: app,
        encoding: "utf8",
        timeout: 300_000,
        env: cleanEnv,
      })
      const installed = (dep: string) =>
        JSON.parse(fs.readFileSync(path.join(app, "node_modules", dep, "package.json"), "utf8")).version
      assert.match(installed("effect"), /^3\.22\./)
      assert.deepStrictEqual(runConsumer(app), consumerSaw)
    } finally {
      fs.rmSync(app, { recursive: true, force: true })
    }
  }, 360_000)

  it("refuses Effect 4 (what `npm install effect` now picks) instead of installing a broken tree", () => {
    const app = fs.mkdtempSync(path.join(os.tmpdir(), "ha-jobs-effect4-"))
    try {
      fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true }))
      const r = spawnSync("npm", ["install", "--dry-run", tarball, "effect@4"], {
        cwd: app,
        encoding: "utf8",
        timeout: 120_000,
        env: cleanEnv,
      })
      assert.notStrictEqual(r.status, 0, "npm accepted effect 4")
      assert.include(r.stderr, "ERESOLVE")
      assert.include(r.stderr, "peer effect@")
    } finally {
      fs.rmSync(app, { recursive: true, force: true })
    }
  }, 150_000)
})
