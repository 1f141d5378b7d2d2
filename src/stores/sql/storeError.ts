import { StoreError } from "../../domain/Errors.js"

/** A driver failure as the typed error the ports promise, with the driver's message. */
export const storeError = (operation: string, cause: unknown): StoreError =>
  new StoreError({
    operation,
    message: typeof cause === "string" ? cause : rootCause(cause),
    cause,
  })

/**
 * The innermost cause's message and code, e.g. "database is locked (SQLITE_BUSY)". The wrappers
 * around it ("Failed to execute statement") say nothing an operator can act on.
 */
export const rootCause = (error: unknown): string => {
  const root = innermost(error)
  const text = root instanceof Error ? root.message : String(root)
  const code = (root as { code?: unknown })?.code
  return typeof code === "string" && !text.includes(code) ? `${text} (${code})` : text
}

/** The end of the `cause` chain: the driver's or the file system's own error. */
export const innermost = (error: unknown): unknown => {
  let root = error
  for (let inner = causeOf(root); inner !== undefined; inner = causeOf(root)) root = inner
  return root
}

const causeOf = (e: unknown): unknown => (e as { cause?: unknown } | null | undefined)?.cause
