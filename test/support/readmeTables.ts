import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert } from "vitest"

/** README's tables, read by the tests that hold them to the code (envTable, defaultsTable). */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8").split("\n")

export interface Row {
  readonly line: number
  readonly cells: Record<string, string>
}

/** Cells split on `|`, except an escaped `\|` (inside a cell). */
const cellsOf = (line: string) =>
  line
    .trim()
    .replace(/^\||\|$/g, "")
    .split(/(?<!\\)\|/)
    .map((c) => c.trim())

/** The first table after the heading `heading` (the whole line), its rows keyed by the header's cells. */
export const tableAfter = (heading: string): ReadonlyArray<Row> => {
  const at = readme.indexOf(heading)
  assert.notStrictEqual(at, -1, `README has no heading "${heading}"`)
  const start = readme.findIndex((l, i) => i > at && l.startsWith("|"))
  const next = readme.findIndex((l, i) => i > at && l.startsWith("#"))
  assert.isTrue(start !== -1 && (next === -1 || start < next), `no table under "${heading}"`)
  const end = readme.findIndex((l, i) => i > start && !l.startsWith("|"))
  const header = cellsOf(readme[start]!)
  return readme.slice(start + 2, end).map((l, i) => ({
    line: start + 3 + i,
    cells: Object.fromEntries(cellsOf(l).map((c, j) => [header[j] ?? String(j), c])),
  }))
}
