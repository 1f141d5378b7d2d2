/**
 * The import graph of src/ and the rules of docs/architecture.md, as data, so the dependency test
 * can check the real graph and, to show it can fail, a graph with a violation added on purpose.
 */
import * as fs from "node:fs"
import * as path from "node:path"

export const srcRoot = path.resolve(import.meta.dirname, "../../src")

/** A module's folder; the top-level modules (index.ts, HaJobs.ts, Env.ts) each count as their own. */
export const folderOf = (file: string): string => {
  const rel = path.relative(srcRoot, file).split(path.sep)
  return rel.length === 1 ? rel[0]!.replace(/\.ts$/, "") : rel[0]!
}

export interface Import {
  readonly from: string
  readonly to: string
  readonly typeOnly: boolean
}

const importPattern =
  /^\s*(import|export)\s+(type\s+)?(?:[^"';]*?\s+from\s+)?["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/gm

export const listFiles = (dir: string): ReadonlyArray<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return listFiles(full)
    return entry.name.endsWith(".ts") ? [full] : []
  })

/** Every relative import in src/, resolved to the imported .ts file. */
export const importsOf = (file: string): ReadonlyArray<Import> => {
  const text = fs.readFileSync(file, "utf8")
  const out: Array<Import> = []
  for (const match of text.matchAll(importPattern)) {
    const spec = match[3] ?? match[4]!
    const to = path.resolve(path.dirname(file), spec).replace(/\.js$/, ".ts")
    out.push({ from: file, to, typeOnly: match[2] !== undefined })
  }
  return out
}

export const graph = (): ReadonlyArray<Import> => listFiles(srcRoot).flatMap(importsOf)

/** What each folder may import (besides itself). Mirrors the table in docs/architecture.md. */
export const rules: Readonly<Record<string, ReadonlyArray<string>>> = {
  domain: [],
  ports: ["domain"],
  core: ["domain", "ports"],
  jobs: ["domain", "ports", "core"],
  stores: ["domain", "ports", "Env"],
  http: ["domain", "ports", "core", "Env"],
  testing: ["domain", "ports", "core", "jobs", "stores", "HaJobs"],
  Env: ["domain"],
  HaJobs: ["domain", "ports", "core", "jobs"],
  index: ["domain", "ports", "core", "jobs", "stores", "http", "Env", "HaJobs"],
}

/** Imports that break the rules, as "from -> to" (paths relative to src/). */
export const violations = (imports: ReadonlyArray<Import>): ReadonlyArray<string> =>
  imports
    .filter(({ from, to }) => {
      const a = folderOf(from)
      const b = folderOf(to)
      return a !== b && !(rules[a] ?? []).includes(b)
    })
    .map(({ from, to }) => `${path.relative(srcRoot, from)} -> ${path.relative(srcRoot, to)}`)
