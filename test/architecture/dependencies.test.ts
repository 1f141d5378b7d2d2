import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { folderOf, graph, type Import, rules, srcRoot, violations } from "./dependencies.js"

const doc = fs.readFileSync(path.resolve(srcRoot, "../docs/architecture.md"), "utf8")

/** Each folder's main module opens with a comment saying what lives there and what it may import. */
const mainModules: Readonly<Record<string, string>> = {
  domain: "domain/JobStatus.ts",
  ports: "ports/LockRepository.ts",
  core: "core/JobManager.ts",
  jobs: "jobs/Supervisor.ts",
  stores: "stores/Store.ts",
  http: "http/HaJobsHttp.ts",
  testing: "testing/index.ts",
}

/** "May import: a, b, c." (or "nothing") from a module's opening comment. */
const mayImport = (text: string): ReadonlyArray<string> | undefined => {
  const match = /May import: ([^.]*)\./.exec(text.slice(0, 1500))
  if (match === null) return undefined
  return match[1]!.trim() === "nothing" ? [] : match[1]!.split(",").map((s) => s.trim().replace(/`/g, ""))
}

describe("the dependency direction of src/ (docs/architecture.md)", () => {
  it("no module imports from a folder it may not import", () => {
    const imports = graph()
    expect(imports.length).toBeGreaterThan(100)
    expect(violations(imports)).toEqual([])
  })

  it("a forbidden import is reported (the check can fail)", () => {
    const from = path.join(srcRoot, "domain/Ids.ts")
    const sabotage: Array<Import> = [
      ...graph(),
      { from, to: path.join(srcRoot, "core/Lease.ts"), typeOnly: true },
      { from: path.join(srcRoot, "stores/Store.ts"), to: path.join(srcRoot, "http/Api.ts"), typeOnly: false },
    ]
    expect(violations(sabotage)).toEqual(["domain/Ids.ts -> core/Lease.ts", "stores/Store.ts -> http/Api.ts"])
  })

  it("every folder and top-level module of src/ has a rule", () => {
    const folders = new Set(graph().flatMap(({ from, to }) => [folderOf(from), folderOf(to)]))
    expect([...folders].filter((folder) => rules[folder] === undefined)).toEqual([])
  })

  it("the table in docs/architecture.md is the rules the test applies", () => {
    const rows = [...doc.matchAll(/^\| `([A-Za-z]+)\/?` \| ([^|]*) \|/gm)].map(
      ([, folder, allowed]) =>
        [
          folder!,
          allowed!.trim() === "nothing"
            ? []
            : allowed!.split(",").map((s) => s.trim().replace(/`/g, "").replace(/\/$/, "")),
        ] as const,
    )
    expect(Object.fromEntries(rows)).toEqual(rules)
  })

  it("each folder's main module says what it may import, as the rules do", () => {
    for (const [folder, file] of Object.entries(mainModules)) {
      const said = mayImport(fs.readFileSync(path.join(srcRoot, file), "utf8"))
      expect({ file, said }).toEqual({ file, said: rules[folder] })
    }
  })
})
