import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Either } from "effect"
import {
  ContentError,
  describeCause,
  failureMessage,
  innermostCause,
  StoreError,
} from "../../src/domain/Errors.js"

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code })

describe("describeCause", () => {
  it("an error's message, its tag first, its code last when the message does not name it", () => {
    assert.strictEqual(describeCause(new Error("boom")), "boom")
    assert.strictEqual(describeCause(new ContentError({ message: "too large" })), "ContentError: too large")
    assert.strictEqual(
      describeCause(withCode("database is locked", "SQLITE_BUSY")),
      "database is locked (SQLITE_BUSY)",
    )
    assert.strictEqual(
      describeCause(withCode("connect ECONNREFUSED 127.0.0.1:1", "ECONNREFUSED")),
      "connect ECONNREFUSED 127.0.0.1:1",
    )
    assert.strictEqual(describeCause({ message: "plain object" }), "plain object")
    assert.strictEqual(describeCause({ _tag: "Timeout" }), "Timeout")
    assert.strictEqual(describeCause("text"), "text")
    assert.strictEqual(describeCause(undefined), "undefined")
  })

  it("innermostCause: the end of the cause chain, also when the chain loops", () => {
    const root = withCode("file is not a database", "SQLITE_NOTADB")
    const wrapped = new Error("Failed to execute statement", { cause: new Error("wrapper", { cause: root }) })
    assert.strictEqual(innermostCause(wrapped), root)
    assert.strictEqual(innermostCause("text"), "text")
    const a: { cause?: unknown } = {}
    const b = { cause: a }
    a.cause = b
    assert.strictEqual(innermostCause(a), b)
  })
})

describe("StoreError", () => {
  it("of: the message as given, the cause only when there is one", () => {
    const plain = StoreError.of("acquire", "contended")
    assert.deepStrictEqual(
      [plain.operation, plain.message, "cause" in plain],
      ["acquire", "contended", false],
    )
    const cause = new Error("x")
    assert.strictEqual(StoreError.of("save", "failed", cause).cause, cause)
  })

  it("fromUnknown: the innermost cause described, then the hint", () => {
    const driver = withCode("database is locked", "SQLITE_BUSY")
    const sqlError = { _tag: "SqlError", message: "Failed to execute statement", cause: driver }
    const error = StoreError.fromUnknown("renew", sqlError, "; raise busyTimeout")
    assert.strictEqual(error.message, "database is locked (SQLITE_BUSY); raise busyTimeout")
    assert.strictEqual(error.cause, sqlError)
  })

  it.effect(
    "refail: every failure becomes a StoreError of the operation; a StoreError passes unchanged",
    () =>
      Effect.gen(function* () {
        const fromDriver = yield* Effect.either(
          Effect.fail(new Error("relation does not exist", { cause: withCode("no table", "42P01") })).pipe(
            StoreError.refail("list"),
          ),
        )
        assert.deepStrictEqual(
          Either.map(Either.flip(fromDriver), (e) => [e.operation, e.message]),
          Either.right(["list", "no table (42P01)"]),
        )
        const original = StoreError.of("acquire", "contended")
        const passed = yield* Effect.flip(Effect.fail(original).pipe(StoreError.refail("other")))
        assert.strictEqual(passed, original)
        const custom = yield* Effect.flip(
          Effect.fail({ code: 7 }).pipe(
            StoreError.refail("save", (e, operation) => `${operation}: code ${e.code}`),
          ),
        )
        assert.strictEqual(custom.message, "save: code 7")
      }),
  )
})

describe("failureMessage", () => {
  it("a StoreError names the store call; a defect says so", () => {
    assert.strictEqual(
      failureMessage(Cause.fail(StoreError.of("save", "connection refused"))),
      "store unavailable (save): connection refused",
    )
    assert.strictEqual(failureMessage(Cause.die(new Error("bug"))), "defect: bug")
    assert.strictEqual(
      failureMessage(Cause.fail(new ContentError({ message: "too large" }))),
      "ContentError: too large",
    )
  })
})
