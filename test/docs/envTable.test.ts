import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"
import { assert, describe, it } from "vitest"
import { Variables as ExampleVariables } from "../../examples/server.js"
import * as Env from "../../src/Env.js"
import { root, tableAfter } from "../support/readmeTables.js"

/**
 * README's tables of environment variables say what the code declares (src/Env.ts for the library,
 * examples/server.ts for the example service): the same variables, the same defaults. A variable
 * added without its row, or a row without its variable, fails here.
 */
/** The variable names of a cell: its code spans that look like one (`HA_JOBS_STORE`, `PGHOST`). */
const namesIn = (cell: string) =>
  [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!).filter((s) => /^[A-Z][A-Z0-9_]*$/.test(s))

const plain = (cell: string) => cell.replace(/`/g, "")

/** The default cell README must show: the value as code, or what applies when unset, as prose. */
const expectedDefault = (v: Env.Variable<unknown>) =>
  v.default !== undefined ? `\`${v.default}\`` : (v.unset ?? "none")

const defaultMatches = (v: Env.Variable<unknown>, cell: string) =>
  v.default !== undefined ? cell === `\`${v.default}\`` : plain(cell) === v.unset

/** The row to add for a variable README lacks, as a hint in the failure. */
const rowFor = (v: Env.Variable<unknown>, withReadBy: boolean) =>
  `| \`${v.name}\` | ${expectedDefault(v)} |${withReadBy ? " <layer> |" : ""} ${v.description} |`

/** Every declared variable has a row with its default, and every row's variables are declared. */
const compare = (
  heading: string,
  declared: ReadonlyArray<Env.Variable<unknown>>,
  column: string,
  withReadBy: boolean,
) => {
  const rows = tableAfter(heading)
  const byName = new Map(declared.map((v) => [v.name, v]))
  const problems: Array<string> = []
  const seen = new Set<string>()
  for (const row of rows) {
    const names = namesIn(row.cells[column] ?? "")
    if (names.length === 0) problems.push(`README.md:${row.line}: a row without a variable in "${column}"`)
    for (const name of names) {
      const v = byName.get(name)
      if (v === undefined) {
        problems.push(`README.md:${row.line}: ${name} is in the table but not declared`)
        continue
      }
      if (seen.has(name)) problems.push(`README.md:${row.line}: ${name} has two rows`)
      seen.add(name)
      const cell = row.cells.default ?? ""
      if (!defaultMatches(v, cell))
        problems.push(
          `README.md:${row.line}: ${name}'s default is ${expectedDefault(v)}, the table says ${cell}`,
        )
    }
  }
  for (const v of declared)
    if (!seen.has(v.name))
      problems.push(`${v.name} is declared but missing from the table; add e.g.\n${rowFor(v, withReadBy)}`)
  assert.deepStrictEqual(problems, [], `under "${heading}":\n${problems.join("\n")}`)
}

describe("README's tables of environment variables", () => {
  it("the configuration table lists every variable the library declares, with its default", () => {
    assert.isAbove(Env.all.length, 10)
    compare("### Configuration (environment)", Env.all, "variable", true)
  })

  it("the example service's table lists the example's variables, with their defaults", () => {
    compare("### The example service (`npm start`)", Object.values(ExampleVariables), "variable", false)
  })

  it("the HTTP table names declared variables, with their defaults", () => {
    const rows = tableAfter("### Configuration and security")
    const byName = new Map(Env.all.map((v) => [v.name, v]))
    const named = rows.flatMap((row) =>
      namesIn(row.cells["Config (env)"] ?? "").map((name) => ({ row, name })),
    )
    assert.isAbove(named.length, 3)
    for (const { row, name } of named) {
      const v = byName.get(name)
      assert.isDefined(v, `README.md:${row.line}: ${name} is not declared in src/Env.ts`)
      assert.strictEqual(
        plain(row.cells.Default ?? ""),
        v!.default ?? v!.unset,
        `README.md:${row.line}: ${name}'s default`,
      )
    }
  })

  it("each name is declared once, with a description", () => {
    const names = [...Env.all, ...Object.values(ExampleVariables)].map((v) => v.name)
    assert.deepStrictEqual(names, [...new Set(names)])
    for (const v of [...Env.all, ...Object.values(ExampleVariables)])
      assert.isAbove(v.description.length, 10, v.name)
  })
})

describe("src/ reads its variables from src/Env.ts only", () => {
  const files = (dir: string): Array<string> =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .flatMap((e) =>
        e.isDirectory()
          ? files(path.join(dir, e.name))
          : e.name.endsWith(".ts")
            ? [path.join(dir, e.name)]
            : [],
      )

  /** The text of every string and template literal of a file (not its comments). */
  const literalsOf = (file: string) => {
    const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true)
    const out: Array<{ text: string; line: number }> = []
    const visit = (node: ts.Node) => {
      if (
        ts.isStringLiteralLike(node) ||
        ts.isTemplateHead(node) ||
        ts.isTemplateMiddle(node) ||
        ts.isTemplateTail(node)
      )
        out.push({ text: node.text, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 })
      ts.forEachChild(node, visit)
    }
    visit(source)
    return out
  }

  it("no other file of src/ spells a variable's name in a string", () => {
    const env = path.join(root, "src", "Env.ts")
    const patterns = Env.all.map((v) => ({ name: v.name, re: new RegExp(`\\b${v.name}\\b`) }))
    const found = files(path.join(root, "src"))
      .filter((f) => f !== env)
      .flatMap((file) =>
        literalsOf(file).flatMap(({ text, line }) =>
          patterns
            .filter(({ re }) => re.test(text))
            .map(({ name }) => `${path.relative(root, file)}:${line}: "${name}" (use Env.*.name)`),
        ),
      )
    assert.deepStrictEqual(found, [])
  })
})
