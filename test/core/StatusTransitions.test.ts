import * as fs from "node:fs"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, Exit, Fiber, FiberId, Schema, TestClock } from "effect"
import * as Job from "../../src/core/Job.js"
import * as StatusTransitions from "../../src/core/StatusTransitions.js"
import { StoreError } from "../../src/domain/Errors.js"
import { makeJobId, makeTriggerId } from "../../src/domain/Ids.js"
import * as JobOutcome from "../../src/domain/JobOutcome.js"
import type { JobStatus } from "../../src/domain/JobStatus.js"
import { StatusRepository } from "../../src/ports/StatusRepository.js"

const resolved = (job: Job.Any) => Either.getOrThrow(Job.resolve(job))

const report = resolved(
  Job.make({
    type: "report",
    lockType: "reports",
    result: Schema.Struct({ rows: Schema.Number }),
    maxContentBytes: 64,
    run: Effect.succeed({ rows: 1 }),
  }),
)

/** A status port that records what `save` got; attempt n (1-based) behaves as `attempt(n)`. */
const recorder = (attempt: (n: number) => Effect.Effect<void, StoreError> = () => Effect.void) => {
  const saved: Array<JobStatus> = []
  let calls = 0
  const unused = () => Effect.dieMessage("not used by the transitions")
  const repo = StatusRepository.of({
    save: (status) =>
      Effect.suspend(() => attempt(++calls)).pipe(Effect.tap(() => Effect.sync(() => saved.push(status)))),
    list: unused,
    get: unused,
    history: unused,
    listPending: unused,
    record: unused,
    auditLog: unused,
    recordEvent: unused,
    events: unused,
    announce: unused,
    instances: Effect.dieMessage("not used by the transitions"),
  })
  return { repo, saved, calls: () => calls }
}

const refused = Effect.fail(new StoreError({ operation: "save", message: "connection refused" }))

const subjectOf = Effect.gen(function* () {
  const subject: StatusTransitions.ExecutionSubject = {
    job: report,
    jobId: yield* makeJobId,
    triggerId: yield* makeTriggerId,
    attempt: 2,
    source: "cron",
    instance: "node-a",
    scheduledAt: 60_000,
  }
  return subject
})

const done = (exit: Exit.Exit<unknown, unknown>): StatusTransitions.Ending => ({ _tag: "Done", exit })

describe("StatusTransitions", () => {
  it.effect("running and progress: the execution's fields, RUNNING/PENDING, stamped now", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(61_500)
      const { repo, saved } = recorder()
      const subject = yield* subjectOf
      const transition = StatusTransitions.make(repo).execution(subject)
      yield* transition.running(7)
      yield* TestClock.adjust("1 second")
      yield* transition.progress(7, { done: 3 })
      const [running, progress] = saved
      assert.deepInclude(running, {
        triggerId: subject.triggerId,
        jobType: report.type,
        jobId: subject.jobId,
        lockType: report.lockType,
        jobState: "RUNNING",
        jobResult: "PENDING",
        attempt: 2,
        triggerSource: "cron",
        instance: "node-a",
        fencingToken: 7,
      })
      assert.strictEqual(running!.jobStatusTs.getTime(), 61_500)
      assert.strictEqual(running!.scheduledAt?.getTime(), 60_000)
      assert.isUndefined(running!.content)
      assert.isUndefined(running!.reason)
      assert.deepStrictEqual(progress!.content, { done: 3 })
      assert.strictEqual(progress!.jobStatusTs.getTime(), 62_500)
    }),
  )

  it.effect("executionStatus leaves absent values out (no scheduledAt for a manual run)", () =>
    Effect.gen(function* () {
      const subject = { ...(yield* subjectOf), scheduledAt: undefined, source: "manual" as const }
      const status = StatusTransitions.executionStatus(1_000, subject, "FAILED", {
        reason: "boom",
        content: undefined,
        fencingToken: undefined,
      })
      for (const absent of ["scheduledAt", "content", "fencingToken"]) assert.notProperty(status, absent)
      assert.strictEqual(status.jobResult, "FAILED")
      assert.strictEqual(status.reason, "boom")
    }),
  )

  describe("terminal: how an execution ended decides its final state", () => {
    const cases: ReadonlyArray<readonly [string, StatusTransitions.Ending, StatusTransitions.Terminal]> = [
      [
        "a result",
        done(Exit.succeed({ rows: 4 })),
        { state: "FINISHED", content: { rows: 4 }, reason: undefined },
      ],
      [
        "a JobOutcome",
        done(Exit.succeed(JobOutcome.warning({ rows: 0 }, "nothing new"))),
        { state: "WARNING", content: { rows: 0 }, reason: "nothing new" },
      ],
      [
        "NO_ACTION_NEEDED without a value",
        done(Exit.succeed(JobOutcome.noActionNeeded())),
        { state: "NO_ACTION_NEEDED", content: undefined, reason: undefined },
      ],
      ["a failure", done(Exit.fail("disk full")), { state: "FAILED", content: "last", reason: "disk full" }],
      [
        "an interruption",
        done(Exit.interrupt(FiberId.none)),
        { state: "CANCELED", content: "last", reason: "interrupted" },
      ],
      [
        "a lost lease",
        { _tag: "Lost", loss: { reason: "deadline" } },
        { state: "FAILED", content: "last", reason: "lease lost" },
      ],
      [
        "a cancel",
        { _tag: "Stopped", reason: "cancelled" },
        { state: "CANCELED", content: "last", reason: "cancelled" },
      ],
      [
        "the shutdown",
        { _tag: "Stopped", reason: "shutdown" },
        { state: "CANCELED", content: "last", reason: "shutdown" },
      ],
    ]
    for (const [name, ending, expected] of cases)
      it.effect(name, () =>
        Effect.gen(function* () {
          const final = yield* StatusTransitions.terminal(report, ending, "last")
          assert.deepStrictEqual(final, expected)
        }),
      )

    it.effect("a result that does not encode, or is too big: FAILED, the last progress kept", () =>
      Effect.gen(function* () {
        const wrong = yield* StatusTransitions.terminal(report, done(Exit.succeed({ rows: "x" })), "last")
        assert.strictEqual(wrong.state, "FAILED")
        assert.strictEqual(wrong.content, "last")
        assert.match(wrong.reason ?? "", /^result could not be stored: /)
        const plain = resolved(Job.make({ type: "plain", maxContentBytes: 16, run: Effect.void }))
        const tooBig = yield* StatusTransitions.terminal(
          plain,
          done(Exit.succeed("x".repeat(100))),
          undefined,
        )
        assert.strictEqual(tooBig.state, "FAILED")
        assert.match(tooBig.reason ?? "", /^result could not be stored: /)
      }),
    )
  })

  describe("finished", () => {
    it.effect("writes the final status with the fencing token; a failed or throwing save is retried", () =>
      Effect.gen(function* () {
        const { repo, saved, calls } = recorder((n) =>
          n === 1 ? refused : n === 2 ? Effect.dieMessage("row mapping threw") : Effect.void,
        )
        const transition = StatusTransitions.make(repo).execution(yield* subjectOf)
        const fiber = yield* Effect.fork(transition.finished(9, done(Exit.succeed({ rows: 2 })), undefined))
        yield* TestClock.adjust("1 second")
        const written = yield* Fiber.join(fiber)
        assert.strictEqual(calls(), 3)
        assert.deepStrictEqual(saved, [written])
        assert.deepInclude(written, { jobState: "FINISHED", jobResult: "SUCCESS", fencingToken: 9 })
        assert.deepStrictEqual(written.content, { rows: 2 })
      }),
    )

    it.effect("a store that never takes it: five attempts, then it gives up without failing", () =>
      Effect.gen(function* () {
        const { repo, saved, calls } = recorder(() => refused)
        const transition = StatusTransitions.make(repo).execution(yield* subjectOf)
        const fiber = yield* Effect.fork(
          transition.finished(9, { _tag: "Stopped", reason: "cancelled" }, "p"),
        )
        yield* TestClock.adjust("10 seconds")
        const written = yield* Fiber.join(fiber)
        assert.strictEqual(calls(), 5)
        assert.deepStrictEqual(saved, [])
        assert.deepInclude(written, { jobState: "CANCELED", reason: "cancelled", content: "p" })
      }),
    )
  })

  describe("startFailed", () => {
    it.scoped("written at once when the store answers within the time left", () =>
      Effect.gen(function* () {
        const { repo, saved } = recorder()
        const transition = StatusTransitions.make(repo).execution(yield* subjectOf)
        yield* transition.startFailed("store unavailable (acquire): refused", {
          within: Duration.seconds(1),
          scope: yield* Effect.scope,
        })
        assert.strictEqual(saved.length, 1)
        assert.deepInclude(saved[0], {
          jobState: "FAILED",
          jobResult: "FAILED",
          reason: "start failed: store unavailable (acquire): refused",
        })
        assert.isUndefined(saved[0]!.fencingToken)
      }),
    )

    it.scoped("a store that hangs past the time left gets it in the background, retried", () =>
      Effect.gen(function* () {
        const { repo, saved, calls } = recorder((n) =>
          n === 1 ? Effect.never : n === 2 ? refused : Effect.void,
        )
        const transition = StatusTransitions.make(repo).execution(yield* subjectOf)
        const fiber = yield* Effect.fork(
          transition.startFailed("boom", {
            fencingToken: 4,
            within: Duration.seconds(2),
            scope: yield* Effect.scope,
          }),
        )
        yield* TestClock.adjust("2 seconds")
        yield* Fiber.join(fiber) // returned after the time left, the write continues in the background
        assert.strictEqual(saved.length, 0)
        yield* TestClock.adjust("1 second")
        assert.strictEqual(calls(), 3)
        assert.deepInclude(saved[0], { jobState: "FAILED", reason: "start failed: boom", fencingToken: 4 })
      }),
    )
  })

  it.effect("dead: the latest status's fields, DEAD/FAILED, stamped with the supervisor's time", () =>
    Effect.gen(function* () {
      const { repo, saved } = recorder()
      const latest = StatusTransitions.executionStatus(5_000, yield* subjectOf, "RUNNING", {
        fencingToken: 3,
        content: { done: 1 },
      })
      yield* StatusTransitions.make(repo).dead(latest, 400_000)
      const [row] = saved
      assert.deepInclude(row, {
        triggerId: latest.triggerId,
        jobId: latest.jobId,
        attempt: 2,
        fencingToken: 3,
        instance: "node-a",
        jobState: "DEAD",
        jobResult: "FAILED",
        reason: "no lease held for this execution (last status 1970-01-01T00:00:05.000Z from node-a)",
      })
      assert.deepStrictEqual(row!.content, { done: 1 })
      assert.strictEqual(row!.jobStatusTs.getTime(), 400_000)
      const anonymous = StatusTransitions.deadStatus(1, { ...latest, instance: undefined } as JobStatus)
      assert.strictEqual(
        anonymous.reason,
        "no lease held for this execution (last status 1970-01-01T00:00:05.000Z)",
      )
    }),
  )
})

// --- The guard: nothing else in src/ writes statuses. ---------------------------------------------

const srcRoot = path.resolve(import.meta.dirname, "../../src")

/** Modules that may call the write method: this one, and those that implement or wrap the port. */
const mayWrite = (rel: string) =>
  rel === "core/StatusTransitions.ts" ||
  rel.startsWith("stores/") ||
  rel.startsWith("ports/") ||
  rel.startsWith("testing/")

/** Modules that may build a status (`statusAt`, `new JobStatus`): the writers above, and the domain. */
const mayBuild = (rel: string) => mayWrite(rel) || rel.startsWith("domain/")

const listFiles = (dir: string): ReadonlyArray<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return listFiles(full)
    return entry.name.endsWith(".ts") ? [full] : []
  })

/** The text without comments; each line keeps its number. */
const code = (text: string) =>
  text
    .replace(/\/\*[\s\S]*?\*\//g, (comment) => comment.replace(/[^\n]/g, ""))
    .replace(/(^|[^:])\/\/.*$/gm, "$1")

/**
 * The status write method used in any form: called or passed (`statuses.save(s)`,
 * `Effect.flatMap(statuses.save)`), by name (`repo["save"]`), or destructured (`const { save } = repo`).
 */
const writePattern = /\.\s*save\b|\[\s*["'`]save["'`]\s*\]|\{[^{}]*\bsave\b[^{}]*\}\s*=[^=>]/g
/** `statusAt` named at all (imported, called, passed) or a JobStatus constructed. */
const buildPattern = /\bstatusAt\b|\bnew\s+JobStatus\b/g

/** "file:line: text" of every match of `pattern` in `text`. */
const offences = (rel: string, text: string, pattern: RegExp): ReadonlyArray<string> => {
  const stripped = code(text)
  return [...stripped.matchAll(pattern)].map((m) => {
    const line = stripped.slice(0, m.index).split("\n").length
    return `${rel}:${line}: ${text.split("\n")[line - 1]!.trim()}`
  })
}

const scan = (allowed: (rel: string) => boolean, pattern: RegExp) =>
  listFiles(srcRoot).flatMap((file) => {
    const rel = path.relative(srcRoot, file).split(path.sep).join("/")
    return allowed(rel) ? [] : offences(rel, fs.readFileSync(file, "utf8"), pattern)
  })

describe("only StatusTransitions writes statuses", () => {
  it("no other module of src/ calls the StatusRepository's save", () => {
    assert.deepStrictEqual(scan(mayWrite, writePattern), [])
  })

  it("no other module of src/ builds a status (statusAt, new JobStatus)", () => {
    assert.deepStrictEqual(scan(mayBuild, buildPattern), [])
  })

  it("the guard sees a write in every form, and not in comments or other names", () => {
    const sample = [
      "// statuses.save(x) in a comment",
      "/** or `repo.save` in a doc */",
      "yield* statuses.save(row)",
      "Effect.flatMap(statuses.save)",
      "const write = repo['save']",
      "const { list, save } = statuses",
      "yield* saved()",
      "const x = { save: 1 }",
      "if ({ save } === y) {}",
    ].join("\n")
    assert.deepStrictEqual(offences("x.ts", sample, writePattern), [
      "x.ts:3: yield* statuses.save(row)",
      "x.ts:4: Effect.flatMap(statuses.save)",
      "x.ts:5: const write = repo['save']",
      "x.ts:6: const { list, save } = statuses",
    ])
    const built = [
      'import { statusAt as at } from "../domain/JobStatus.js"',
      "// statusAt(x)",
      "const s = new JobStatus({ ...fields })",
      "const t = statusAtLeast(1)",
    ].join("\n")
    assert.deepStrictEqual(offences("y.ts", built, buildPattern), [
      'y.ts:1: import { statusAt as at } from "../domain/JobStatus.js"',
      "y.ts:3: const s = new JobStatus({ ...fields })",
    ])
    // StatusTransitions itself is where the writes are: the scan would find them there.
    const own = fs.readFileSync(path.join(srcRoot, "core/StatusTransitions.ts"), "utf8")
    assert.isAbove(offences("core/StatusTransitions.ts", own, writePattern).length, 0)
  })
})
