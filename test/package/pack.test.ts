import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "vitest"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

// What `npm publish` would ship, used the way a user's service uses it: `npm pack` (which builds
// dist/ first), the tarball extracted as node_modules/effect-ha-jobs of a scratch folder inside the
// repo (so its dependencies resolve from the repo's node_modules), and a plain-Node consumer.
describe("the packed library", () => {
  it("runs a job on SQLite and serves the dashboard and API from plain Node, without TypeScript", () => {
    const scratch = path.join(root, "test-artifacts", "pack")
    fs.rmSync(scratch, { recursive: true, force: true })
    const pkg = path.join(scratch, "node_modules", "effect-ha-jobs")
    fs.mkdirSync(pkg, { recursive: true })
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
    const files = packed!.files.map((f) => f.path)
    assert.include(files, "dist/index.js")
    assert.include(files, "dist/index.d.ts")
    assert.include(files, "dist/http/dashboard/app.js")
    assert.include(files, "migrations/sqlite/0001_init.sql")
    assert.isFalse(
      files.some((f) => f.startsWith("src/") || f.startsWith("test/")),
      "sources and tests stay out",
    )
    execFileSync("tar", ["-xzf", path.join(scratch, packed!.filename), "-C", pkg, "--strip-components=1"])
    fs.copyFileSync(path.join(root, "test/package/consumer.mjs"), path.join(scratch, "consumer.mjs"))
    const result = JSON.parse(
      execFileSync(process.execPath, ["consumer.mjs"], {
        cwd: scratch,
        encoding: "utf8",
        timeout: 60_000,
        // Plain Node: nothing of vitest's or tsx's loaders.
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
      })
        .trim()
        .split("\n")
        .pop()!,
    )
    assert.deepStrictEqual(result, {
      state: "FINISHED",
      content: { greeting: "hello" },
      dashboard: 200,
      dashboardHasScript: true,
      listed: 200,
      rows: 1,
    })
    fs.rmSync(scratch, { recursive: true, force: true })
  }, 180_000)
})
