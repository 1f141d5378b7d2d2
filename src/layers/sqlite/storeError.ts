import { StoreError } from "../../domain/Errors.js"

/** A driver failure as the typed error the ports promise, with the driver's message. */
export const storeError = (operation: string, cause: unknown): StoreError =>
  new StoreError({
    operation,
    message: typeof cause === "string" ? cause : describe(cause),
    cause,
  })

const describe = (cause: unknown): string => {
  const inner = (cause as { cause?: unknown })?.cause
  const text = (e: unknown) => (e instanceof Error ? e.message : String(e))
  return inner !== undefined ? `${text(cause)}: ${text(inner)}` : text(cause)
}
