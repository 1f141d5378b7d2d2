import * as fs from "node:fs"
import * as path from "node:path"

/**
 * The TypeScript blocks of the documentation (README.md and docs/*.md), as modules a test can
 * type-check and run. An HTML comment on the line before a block says more about it:
 * - `<!-- snippet: run -->`: a complete program; it must also run to its end (exit 0).
 * - `<!-- snippet: vitest -->`: a test file (@effect/vitest); it must also pass under vitest.
 * - `<!-- snippet: continues -->`: it uses what the block before it on the page defines; it is
 *   checked appended to that block (imports of both merged).
 * - `<!-- snippet: skip <why> -->`: not checked, and the reason is printed.
 */
export interface Snippet {
  /** "README.md:112": the page and the line of the opening fence. */
  readonly where: string
  /** What is checked: the block, or the blocks it continues and it, imports merged. */
  readonly code: string
  readonly run: "program" | "vitest" | undefined
  readonly skip: string | undefined
}

const fence = /^```(ts|typescript)\s*$/
const marker = /^<!--\s*snippet:\s*(run|vitest|continues|skip)\b\s*(.*?)\s*-->\s*$/

/** Every ```ts block of one page. */
export const snippetsOf = (root: string, page: string): Array<Snippet> => {
  const lines = fs.readFileSync(path.join(root, page), "utf8").split("\n")
  const out: Array<Snippet> = []
  for (let i = 0; i < lines.length; i++) {
    if (!fence.test(lines[i]!)) continue
    const end = lines.findIndex((l, j) => j > i && l.startsWith("```"))
    if (end === -1) throw new Error(`${page}:${i + 1}: a code block that never ends`)
    const own = lines.slice(i + 1, end).join("\n")
    const [, kind, rest] = marker.exec(lines[i - 1] ?? "") ?? []
    const previous = out.at(-1)
    if (kind === "continues" && previous === undefined)
      throw new Error(`${page}:${i + 1}: "continues" but no block before it`)
    const code = kind === "continues" ? merge(previous!.code, own) : own
    out.push({
      where: `${page}:${i + 1}`,
      code,
      run: kind === "run" ? "program" : kind === "vitest" ? "vitest" : undefined,
      skip: kind === "skip" ? rest || "no reason given" : undefined,
    })
    i = end
  }
  return out
}

const namedImport = /^import\s+(type\s+)?\{([^}]*)\}\s+from\s+("[^"]+")\s*;?\s*$/

/**
 * `first` then `second`, with `second`'s one-line named imports folded into `first`'s (a module may
 * not import one name twice). Other lines are kept as they are.
 */
const merge = (first: string, second: string): string => {
  const imports = new Map<string, Set<string>>()
  const body: Array<string> = []
  for (const line of [...first.split("\n"), ...second.split("\n")]) {
    const m = namedImport.exec(line)
    if (m === null) {
      body.push(line)
      continue
    }
    const key = `${m[1] ?? ""}${m[3]}`
    const names = imports.get(key) ?? new Set<string>()
    for (const n of m[2]!.split(",")) if (n.trim()) names.add(n.trim())
    imports.set(key, names)
  }
  const head = [...imports].map(([key, names]) => {
    const type = key.startsWith("type ") ? "type " : ""
    return `import ${type}{ ${[...names].join(", ")} } from ${key.slice(type.length)}`
  })
  return [...head, ...body].join("\n")
}
