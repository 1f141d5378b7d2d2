/** src/core (docs/architecture.md). This module: text helpers shared by the audit log and the job events. */

/** At most `max` bytes of UTF-8, cut at a character boundary. */
export const truncateUtf8 = (text: string, max: number): string => {
  if (Buffer.byteLength(text, "utf8") <= max) return text
  let out = ""
  let bytes = 0
  for (const ch of text) {
    const n = Buffer.byteLength(ch, "utf8")
    if (bytes + n > max - 3) break
    out += ch
    bytes += n
  }
  return `${out}...`
}
