/**
 * Splits an SQL script into statements at the semicolons outside quotes and comments, and drops the
 * comments. SQLite's driver prepares one statement at a time, so a migration file must be split;
 * a body containing semicolons of its own (CREATE TRIGGER ... BEGIN ...; END) is not understood,
 * so write such a migration as code (a record migration) instead.
 */
export const splitStatements = (script: string): ReadonlyArray<string> => {
  const statements: Array<string> = []
  let current = ""
  let i = 0
  const closing: Record<string, string> = { "'": "'", '"': '"', "`": "`", "[": "]" }
  while (i < script.length) {
    const c = script[i]!
    const next = script[i + 1]
    if (c === "-" && next === "-") {
      const end = script.indexOf("\n", i)
      i = end === -1 ? script.length : end
    } else if (c === "/" && next === "*") {
      const end = script.indexOf("*/", i + 2)
      i = end === -1 ? script.length : end + 2
      current += " "
    } else if (c in closing) {
      // A doubled quote inside a quoted text is the quote itself: scanning on from it is the same.
      const end = script.indexOf(closing[c]!, i + 1)
      const stop = end === -1 ? script.length : end + 1
      current += script.slice(i, stop)
      i = stop
    } else if (c === ";") {
      statements.push(current)
      current = ""
      i++
    } else {
      current += c
      i++
    }
  }
  statements.push(current)
  return statements.map((s) => s.trim()).filter((s) => s.length > 0)
}
